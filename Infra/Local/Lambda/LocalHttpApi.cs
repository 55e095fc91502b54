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
/// The HTTP API of the template, locally: route <c>ANY /api/{proxy+}</c> with the JWT authorizer, payload format
/// 2.0 to the function, its proxy response back to the caller; plus the local S3's object events delivered to
/// the function as S3 notifications (the template's bucket notification), invoked asynchronously as S3 invokes it.
/// </summary>
public sealed class LocalHttpApi(LocalLambdaFunction function, AsyncInvocations asynchronous, ApiGatewayJwtAuthorizer authorizer, string s3EventSecretHeader, string s3EventSecret, TimeSpan timeout)
{
    public const string S3EventsPath = "/_local/s3-events";

    // Connection-level headers are not part of the event or of the proxy response.
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Upgrade", "TE", "Trailer",
    };

    public void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.Map("/api/{**proxy}", HandleAsync);
        endpoints.MapPost(S3EventsPath, DeliverS3EventAsync);
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
        var payload = CreateEvent(context, claims, body.ToArray());
        var result = await function.InvokeAsync(Encoding.UTF8.GetBytes(payload.ToJsonString()), timeout, context.RequestAborted);
        await WriteResponseAsync(context, result);
    }

    /// <summary>The HTTP API payload format 2.0 event for a request.</summary>
    public static JsonObject CreateEvent(HttpContext context, IReadOnlyDictionary<string, string> claims, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? request.Path + request.QueryString;
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
            ["routeKey"] = "ANY /api/{proxy+}",
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
                ["routeKey"] = "ANY /api/{proxy+}",
                ["stage"] = "$default",
                ["time"] = now.ToString("dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture),
                ["timeEpoch"] = now.ToUnixTimeMilliseconds(),
            },
            ["pathParameters"] = new JsonObject { ["proxy"] = rawPath.Length > 5 ? rawPath[5..] : string.Empty },
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

    private async Task<IResult> DeliverS3EventAsync(HttpRequest request)
    {
        var expected = Encoding.UTF8.GetBytes(s3EventSecret);
        var given = Encoding.UTF8.GetBytes(request.Headers[s3EventSecretHeader].ToString());
        if (expected.Length == 0 || !CryptographicOperations.FixedTimeEquals(expected, given))
        {
            return Results.Unauthorized();
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
        // S3 invokes the function asynchronously: Lambda accepts the event at once and owns its retries and its
        // on-failure destination from then on; the local S3 retries only a delivery that was not accepted.
        return Results.Accepted(value: new { requestId = asynchronous.Enqueue(body.ToArray()) });
    }
}
