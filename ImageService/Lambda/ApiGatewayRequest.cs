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
    /// <summary>True when the payload is an API Gateway proxy event (either version).</summary>
    public static bool IsApiGatewayEvent(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && (root.TryGetProperty("rawPath", out _) || (root.TryGetProperty("httpMethod", out _) && root.TryGetProperty("path", out _)));

    public static ApiGatewayRequest Parse(JsonElement root)
    {
        var isV2 = root.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String && version.GetString() == "2.0"
            || root.TryGetProperty("rawPath", out _);
        return isV2 ? ParseV2(root) : ParseV1(root);
    }

    private static ApiGatewayRequest ParseV2(JsonElement root)
    {
        var context = Property(root, "requestContext");
        var http = Property(context, "http");
        var method = String(http, "method") ?? "GET";
        var rawPath = String(root, "rawPath") ?? String(http, "path") ?? "/";
        var rawQuery = String(root, "rawQueryString") ?? string.Empty;

        // A named stage is the first path segment of rawPath; the app is mounted below it.
        var stage = String(context, "stage");
        var pathBase = string.Empty;
        var path = rawPath;
        if (!string.IsNullOrEmpty(stage) && stage != "$default"
            && (rawPath == "/" + stage || rawPath.StartsWith("/" + stage + "/", StringComparison.Ordinal)))
        {
            pathBase = "/" + stage;
            path = rawPath[pathBase.Length..];
        }

        var headers = new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in Properties(root, "headers"))
        {
            headers[header.Name] = header.Value.ToString();
        }

        if (root.TryGetProperty("cookies", out var cookies) && cookies.ValueKind == JsonValueKind.Array)
        {
            headers["Cookie"] = string.Join("; ", cookies.EnumerateArray().Select(c => c.GetString()));
        }

        var claims = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var claim in Properties(Property(Property(context, "authorizer"), "jwt"), "claims"))
        {
            claims[claim.Name] = claim.Value.ValueKind == JsonValueKind.String ? claim.Value.GetString()! : claim.Value.GetRawText();
        }

        return new ApiGatewayRequest(
            ApiGatewayPayloadVersion.V2,
            method,
            DecodePath(pathBase),
            DecodePath(string.IsNullOrEmpty(path) ? "/" : path),
            rawPath + (rawQuery.Length > 0 ? "?" + rawQuery : string.Empty),
            rawQuery.Length > 0 ? "?" + rawQuery : string.Empty,
            headers,
            ReadBody(root),
            claims,
            String(context, "requestId"),
            String(http, "sourceIp"));
    }

    private static ApiGatewayRequest ParseV1(JsonElement root)
    {
        var context = Property(root, "requestContext");
        var method = String(root, "httpMethod") ?? "GET";
        var path = String(root, "path") ?? "/";

        var headers = new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);
        var multiHeaders = Properties(root, "multiValueHeaders");
        if (multiHeaders.Count > 0)
        {
            foreach (var header in multiHeaders)
            {
                headers[header.Name] = new StringValues(header.Value.ValueKind == JsonValueKind.Array
                    ? header.Value.EnumerateArray().Select(v => v.GetString()).ToArray()
                    : [header.Value.ToString()]);
            }
        }
        else
        {
            foreach (var header in Properties(root, "headers"))
            {
                headers[header.Name] = header.Value.ToString();
            }
        }

        var query = new StringBuilder();
        var multiQuery = Properties(root, "multiValueQueryStringParameters");
        IEnumerable<(string Name, string? Value)> pairs = multiQuery.Count > 0
            ? multiQuery.SelectMany(p => p.Value.ValueKind == JsonValueKind.Array
                ? p.Value.EnumerateArray().Select(v => (p.Name, v.GetString()))
                : [(p.Name, p.Value.ToString())])
            : Properties(root, "queryStringParameters").Select(p => (p.Name, (string?)p.Value.ToString()));
        foreach (var (name, value) in pairs)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value ?? string.Empty));
        }

        var claims = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var claim in Properties(Property(Property(context, "authorizer"), "claims"), null))
        {
            claims[claim.Name] = claim.Value.ValueKind == JsonValueKind.String ? claim.Value.GetString()! : claim.Value.GetRawText();
        }

        var encodedPath = string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        return new ApiGatewayRequest(
            ApiGatewayPayloadVersion.V1,
            method,
            string.Empty,
            path,
            encodedPath + query,
            query.ToString(),
            headers,
            ReadBody(root),
            claims,
            String(context, "requestId"),
            String(Property(context, "identity"), "sourceIp"));
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

    private static byte[] ReadBody(JsonElement root)
    {
        var body = String(root, "body");
        if (string.IsNullOrEmpty(body))
        {
            return [];
        }

        var base64 = root.TryGetProperty("isBase64Encoded", out var flag) && flag.ValueKind == JsonValueKind.True;
        if (base64)
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

    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string? String(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static List<JsonProperty> Properties(JsonElement element, string? name)
    {
        var target = name is null ? element : Property(element, name);
        return target.ValueKind == JsonValueKind.Object ? [.. target.EnumerateObject()] : [];
    }
}
