using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Primitives;

namespace ImageAspire.ImageService.Lambda;

public enum ApiGatewayPayloadVersion
{
    /// <summary>REST API (payload format 1.0).</summary>
    V1,

    /// <summary>HTTP API (payload format 2.0).</summary>
    V2,
}

/// <summary>An API Gateway proxy event, reduced to what an HTTP request needs.</summary>
public sealed record ApiGatewayRequest(
    ApiGatewayPayloadVersion Version,
    string Method,
    string PathBase,
    string Path,
    string RawTarget,
    string QueryString,
    Dictionary<string, StringValues> Headers,
    byte[] Body,
    IReadOnlyDictionary<string, string> AuthorizerClaims,
    string? RequestId,
    string? SourceIp)
{
    public static ApiGatewayRequest FromHttpApi(HttpApiV2Event request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = request.RequestContext;
        var method = context?.Http?.Method ?? "GET";
        var rawPath = request.RawPath ?? context?.Http?.Path ?? "/";
        var rawQuery = request.RawQueryString ?? string.Empty;

        // A named stage is the first path segment of rawPath; the app is mounted below it.
        var stage = context?.Stage;
        var pathBase = string.Empty;
        var path = rawPath;
        if (!string.IsNullOrEmpty(stage) && stage != "$default"
            && (rawPath == "/" + stage || rawPath.StartsWith("/" + stage + "/", StringComparison.Ordinal)))
        {
            pathBase = "/" + stage;
            path = rawPath[pathBase.Length..];
        }

        var headers = new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in request.Headers ?? new Dictionary<string, string?>())
        {
            headers[name] = value;
        }

        if (request.Cookies is { Count: > 0 } cookies)
        {
            headers["Cookie"] = string.Join("; ", cookies);
        }

        var query = rawQuery.Length > 0 ? "?" + rawQuery : string.Empty;
        return new ApiGatewayRequest(
            ApiGatewayPayloadVersion.V2,
            method,
            DecodePath(pathBase),
            DecodePath(string.IsNullOrEmpty(path) ? "/" : path),
            rawPath + query,
            query,
            headers,
            ReadBody(request.Body, request.IsBase64Encoded),
            Claims(context?.Authorizer?.Jwt?.Claims),
            context?.RequestId,
            context?.Http?.SourceIp);
    }

    public static ApiGatewayRequest FromRestApi(RestApiV1Event request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = request.Path ?? "/";
        var headers = new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);
        if (request.MultiValueHeaders is { Count: > 0 } multiHeaders)
        {
            foreach (var (name, values) in multiHeaders)
            {
                headers[name] = new StringValues([.. values ?? []]);
            }
        }
        else
        {
            foreach (var (name, value) in request.Headers ?? new Dictionary<string, string?>())
            {
                headers[name] = value;
            }
        }

        IEnumerable<(string Name, string? Value)> pairs = request.MultiValueQueryStringParameters is { Count: > 0 } multiQuery
            ? multiQuery.SelectMany(p => (p.Value ?? []).Select(v => (p.Key, v)))
            : (request.QueryStringParameters ?? new Dictionary<string, string?>()).Select(p => (p.Key, p.Value));
        var query = new StringBuilder();
        foreach (var (name, value) in pairs)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value ?? string.Empty));
        }

        var encodedPath = string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        return new ApiGatewayRequest(
            ApiGatewayPayloadVersion.V1,
            request.HttpMethod ?? "GET",
            string.Empty,
            path,
            encodedPath + query,
            query.ToString(),
            headers,
            ReadBody(request.Body, request.IsBase64Encoded),
            Claims(request.RequestContext?.Authorizer?.Claims),
            request.RequestContext?.RequestId,
            request.RequestContext?.Identity?.SourceIp);
    }

    /// <summary>Decodes a raw path as Kestrel does: every escape except <c>%2F</c>, which would change the segments.</summary>
    public static string DecodePath(string raw)
    {
        if (!raw.Contains('%', StringComparison.Ordinal))
        {
            return raw;
        }

        var parts = raw.Split(["%2F", "%2f"], StringSplitOptions.None);
        return string.Join("%2F", parts.Select(Uri.UnescapeDataString));
    }

    private static Dictionary<string, string> Claims(IReadOnlyDictionary<string, JsonElement>? claims) =>
        (claims ?? new Dictionary<string, JsonElement>()).ToDictionary(
            c => c.Key, c => c.Value.ValueKind == JsonValueKind.String ? c.Value.GetString()! : c.Value.GetRawText(), StringComparer.Ordinal);

    private static byte[] ReadBody(string? body, bool isBase64Encoded)
    {
        if (string.IsNullOrEmpty(body))
        {
            return [];
        }

        if (isBase64Encoded)
        {
            // A body flagged base64 that is not base64 (AWS's own sample has one) is passed on as text
            // rather than failing the whole invocation.
            var buffer = new byte[(body.Length * 3 / 4) + 3];
            if (Convert.TryFromBase64String(body, buffer, out var written))
            {
                return buffer[..written];
            }
        }

        return Encoding.UTF8.GetBytes(body);
    }
}
