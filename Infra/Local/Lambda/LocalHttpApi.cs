using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace ImageAspire.LocalLambda;

/// <summary>
/// The HTTP API of the template, locally: its route (a greedy <c>{proxy+}</c> route such as <c>ANY /api/{proxy+}</c>)
/// with the JWT authorizer, payload format 2.0 to the function, its proxy response back to the caller.
/// </summary>
public sealed class LocalHttpApi(LocalLambdaFunction function, ApiGatewayJwtAuthorizer authorizer, HttpApiRoute route, TimeSpan timeout)
{
    // Connection-level headers are not part of the event or of the proxy response.
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Upgrade", "TE", "Trailer",
    };

    public void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var mapped = endpoints.Map(route.PathPrefix + "{**proxy}", HandleAsync);
        if (route.Method != "ANY")
        {
            mapped.WithMetadata(new HttpMethodMetadata([route.Method]));
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var claims = await authorizer.AuthorizeAsync(request.Headers.Authorization, context.RequestAborted);
        if (claims is null)
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(ApiGatewayJwtAuthorizer.UnauthorizedBody, context.RequestAborted);
            return;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        var payload = CreateEvent(context, claims, body.ToArray(), route);
        var result = await function.InvokeAsync(Encoding.UTF8.GetBytes(payload.ToJsonString()), timeout, context.RequestAborted);
        await WriteResponseAsync(context, result);
    }

    /// <summary>The HTTP API payload format 2.0 event for a request.</summary>
    public static JsonObject CreateEvent(HttpContext context, IReadOnlyDictionary<string, string> claims, byte[] body, HttpApiRoute route)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(route);
        var request = context.Request;
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : request.Path + request.QueryString;
        var rawPath = rawTarget.Split('?', 2)[0];
        var headers = new JsonObject();
        var cookies = new JsonArray();
        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var cookie in values.SelectMany(v => (v ?? string.Empty).Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
                {
                    cookies.Add(cookie);
                }
            }
            else
            {
                headers[name.ToLowerInvariant()] = string.Join(',', values.ToArray());
            }
        }

        var isText = body.Length == 0 || (request.ContentType ?? string.Empty).Contains("json", StringComparison.OrdinalIgnoreCase) || (request.ContentType ?? string.Empty).StartsWith("text/", StringComparison.OrdinalIgnoreCase);
        var now = DateTimeOffset.UtcNow;
        var payload = new JsonObject
        {
            ["version"] = "2.0",
            ["routeKey"] = route.RouteKey,
            ["rawPath"] = rawPath,
            ["rawQueryString"] = request.QueryString.HasValue ? request.QueryString.Value![1..] : string.Empty,
            ["headers"] = headers,
            ["requestContext"] = new JsonObject
            {
                ["accountId"] = "000000000000",
                ["apiId"] = "local",
                ["domainName"] = request.Host.Value,
                ["http"] = new JsonObject
                {
                    ["method"] = request.Method,
                    ["path"] = rawPath,
                    ["protocol"] = request.Protocol,
                    ["sourceIp"] = context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1",
                    ["userAgent"] = request.Headers.UserAgent.ToString(),
                },
                ["authorizer"] = new JsonObject
                {
                    ["jwt"] = new JsonObject
                    {
                        ["claims"] = new JsonObject(claims.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)JsonValue.Create(c.Value)))),
                        ["scopes"] = null,
                    },
                },
                ["requestId"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)),
                ["routeKey"] = route.RouteKey,
                ["stage"] = route.Stage,
                ["time"] = now.ToString("dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture),
                ["timeEpoch"] = now.ToUnixTimeMilliseconds(),
            },
            ["pathParameters"] = new JsonObject { ["proxy"] = rawPath.Length > route.PathPrefix.Length ? rawPath[route.PathPrefix.Length..] : string.Empty },
            ["isBase64Encoded"] = !isText,
            ["body"] = body.Length == 0 ? null : isText ? Encoding.UTF8.GetString(body) : Convert.ToBase64String(body),
        };
        if (cookies.Count > 0)
        {
            payload["cookies"] = cookies;
        }

        return payload;
    }

    private static async Task WriteResponseAsync(HttpContext context, InvocationResult result)
    {
        var response = context.Response;
        JsonObject? proxy = null;
        if (!result.IsError)
        {
            try
            {
                proxy = JsonNode.Parse(result.Payload) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        if (proxy?["statusCode"] is null)
        {
            // What API Gateway answers when the integration fails or returns something that is not a proxy response.
            response.StatusCode = 500;
            response.ContentType = "application/json";
            await response.WriteAsync("""{"message":"Internal Server Error"}""", context.RequestAborted);
            return;
        }

        response.StatusCode = (int)proxy["statusCode"]!;
        foreach (var (name, value) in proxy["headers"] as JsonObject ?? [])
        {
            if (!HopByHop.Contains(name))
            {
                response.Headers[name] = value?.ToString();
            }
        }

        foreach (var (name, values) in proxy["multiValueHeaders"] as JsonObject ?? [])
        {
            if (!HopByHop.Contains(name))
            {
                response.Headers[name] = new StringValues((values as JsonArray ?? []).Select(v => v?.ToString()).ToArray());
            }
        }

        foreach (var cookie in proxy["cookies"] as JsonArray ?? [])
        {
            response.Headers.Append("Set-Cookie", cookie?.ToString());
        }

        var body = (string?)proxy["body"] ?? string.Empty;
        var bytes = (bool?)proxy["isBase64Encoded"] == true ? Convert.FromBase64String(body) : Encoding.UTF8.GetBytes(body);
        // A 204 or 304 has no body and, as API Gateway sends it, no Content-Length (RFC 9110 8.6).
        if (response.StatusCode is StatusCodes.Status204NoContent or StatusCodes.Status304NotModified)
        {
            return;
        }

        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}

/// <summary>
/// The template's HTTP API route and stage (configuration <c>HttpApi</c>, which <c>AddLocalLambda</c> reads from the
/// template's <c>AWS::ApiGatewayV2::Route</c> and <c>AWS::ApiGatewayV2::Stage</c>). Only greedy routes
/// (<c>METHOD /prefix/{proxy+}</c>) are served, the one shape a Lambda proxy API needs.
/// </summary>
public sealed record HttpApiRoute(string RouteKey, string Stage)
{
    private const string Greedy = "{proxy+}";

    /// <summary>The route key's method (<c>ANY</c> for every method).</summary>
    public string Method => RouteKey.Split(' ', 2)[0];

    /// <summary>The path before the greedy parameter, e.g. <c>/api/</c>.</summary>
    public string PathPrefix => RouteKey.Split(' ', 2)[1][..^Greedy.Length];

    /// <summary>Reads and checks the route, naming what is wrong.</summary>
    public static HttpApiRoute Parse(string? routeKey, string? stage)
    {
        var parts = (routeKey ?? string.Empty).Split(' ', 2);
        if (parts.Length != 2 || parts[0].Length == 0 || !parts[1].StartsWith('/') || !parts[1].EndsWith("/" + Greedy, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"HttpApi:RouteKey '{routeKey}' is not served locally: only a greedy proxy route such as 'ANY /api/{Greedy}' is.");
        }

        return new HttpApiRoute(routeKey!, string.IsNullOrEmpty(stage) ? "$default" : stage);
    }
}
