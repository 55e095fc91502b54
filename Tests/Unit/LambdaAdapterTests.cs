using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageAspire.ImageService.Auth;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Lambda;
using ImageAspire.Tests.Support;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageAspire.Tests.Unit;

/// <summary>
/// The API Gateway ⇄ ASP.NET Core adapter, driven with the AWS sample payloads through a test host whose
/// endpoints echo what the app saw.
/// </summary>
public sealed class LambdaAdapterTests : IAsyncLifetime
{
    private const string Issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test";
    private const string ClientId = "test-client";
    private WebApplication _app = null!;
    private LambdaServer _server = null!;
    private readonly RecordingHandler _s3 = new();

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton<LambdaServer>();
        builder.Services.AddSingleton<IServer>(sp => sp.GetRequiredService<LambdaServer>());
        builder.Services.AddSingleton<IObjectCreatedHandler>(_s3);
        builder.Services.AddSingleton<S3EventProcessor>();
        builder.Services.Configure<CognitoAuthOptions>(o => (o.Issuer, o.ClientId) = (Issuer, ClientId));
        builder.Services.AddAuthentication(LambdaAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, LambdaAuthenticationHandler>(LambdaAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        _app = builder.Build();
        _app.UseAuthentication();
        _app.Map("/binary", () => Results.Bytes(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), "application/octet-stream"));
        _app.Map("/cookies", (HttpContext context) =>
        {
            context.Response.Cookies.Append("a", "1");
            context.Response.Cookies.Append("b", "2");
            context.Response.Headers.Append("X-Multi", new Microsoft.Extensions.Primitives.StringValues(["x", "y"]));
            return Results.Text("ok");
        });
        _app.Map("/throw", IResult () => throw new InvalidOperationException("boom"));
        _app.Map("/{**path}", (Delegate)Echo);
        await _app.StartAsync(TestContext.Current.CancellationToken);
        _server = _app.Services.GetRequiredService<LambdaServer>();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task<IResult> Echo(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var request = context.Request;
        return Results.Json(new
        {
            method = request.Method,
            pathBase = request.PathBase.Value,
            path = request.Path.Value,
            queryString = request.QueryString.Value,
            query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToArray()),
            rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget,
            headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            cookies = request.Cookies.ToDictionary(c => c.Key, c => c.Value),
            body = Convert.ToBase64String(body.ToArray()),
            user = context.User.Identity?.IsAuthenticated == true ? context.User.FindFirstValue("sub") : null,
            groups = context.User.FindAll("cognito:groups").Select(c => c.Value).ToArray(),
            traceParent = System.Diagnostics.Activity.Current?.ParentId,
        });
    }

    private static JsonObject Fixture(string name) =>
        JsonNode.Parse(File.ReadAllText(Repository.PathOf("Tests", "Fixtures", "aws-events", name)).TrimStart('\uFEFF'))!.AsObject();

    private async Task<JsonObject> InvokeAsync(JsonObject payload, string? traceId = null)
    {
        var response = await _server.HandleAsync(
            new LambdaInvocation("req-1", Encoding.UTF8.GetBytes(payload.ToJsonString()), DateTimeOffset.UtcNow.AddMinutes(1), null, traceId),
            TestContext.Current.CancellationToken);
        return JsonNode.Parse(response)!.AsObject();
    }

    private static JsonObject EchoOf(JsonObject response)
    {
        Assert.Equal(200, (int)response["statusCode"]!);
        Assert.False((bool)response["isBase64Encoded"]!);
        return JsonNode.Parse((string)response["body"]!)!.AsObject();
    }

    public static TheoryData<string> HttpApiFixtures() =>
        new(Directory.GetFiles(Repository.PathOf("Tests", "Fixtures", "aws-events"), "*.json")
            .Select(Path.GetFileName)
            .Where(f => f!.Contains("httpapi-v2", StringComparison.Ordinal) || f.StartsWith("http-api-v2", StringComparison.Ordinal))
            .Select(f => f!)
            .Order());

    [Theory]
    [MemberData(nameof(HttpApiFixtures))]
    public async Task Every_http_api_fixture_reaches_the_app_as_sent(string fixture)
    {
        var payload = Fixture(fixture);
        var context = payload["requestContext"]!;

        var echo = EchoOf(await InvokeAsync(payload));

        Assert.Equal((string)context["http"]!["method"]!, (string)echo["method"]!);
        var rawPath = (string)payload["rawPath"]!;
        var stage = (string?)context["stage"];
        var expectedBase = stage is not null && stage != "$default" && rawPath.StartsWith($"/{stage}/", StringComparison.Ordinal) ? $"/{stage}" : string.Empty;
        Assert.Equal(expectedBase, (string?)echo["pathBase"] ?? string.Empty);
        Assert.Equal(ApiGatewayRequest.DecodePath(rawPath[expectedBase.Length..]), (string)echo["path"]!);
        var rawQuery = (string?)payload["rawQueryString"] ?? string.Empty;
        Assert.Equal(rawQuery.Length > 0 ? "?" + rawQuery : string.Empty, (string?)echo["queryString"] ?? string.Empty);
        Assert.Equal(rawPath + (rawQuery.Length > 0 ? "?" + rawQuery : string.Empty), (string)echo["rawTarget"]!);
        foreach (var (name, value) in payload["headers"]?.AsObject() ?? [])
        {
            if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Assert.Equal((string?)value, (string?)echo["headers"]![name.ToLowerInvariant()]);
        }

        foreach (var cookie in payload["cookies"]?.AsArray() ?? [])
        {
            // A cookie without '=' is not a name/value pair; ASP.NET Core ignores it, as browsers' servers do.
            if (((string)cookie!).Split('=', 2) is [var name, var value])
            {
                Assert.Equal(value, (string?)echo["cookies"]![name]);
            }
        }

        var body = (string?)payload["body"];
        var expectedBody = string.IsNullOrEmpty(body) ? []
            : (bool?)payload["isBase64Encoded"] == true && TryBase64(body) is { } decoded ? decoded
            : Encoding.UTF8.GetBytes(body);
        Assert.Equal(Convert.ToBase64String(expectedBody), (string)echo["body"]!);
    }

    private static byte[]? TryBase64(string text)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Paths_keep_encoded_slashes_plus_signs_and_spaces()
    {
        var slash = EchoOf(await InvokeAsync(Fixture("rawtarget-escaped-percent-slash-in-path-httpapi-v2.json")));
        Assert.Equal("/foo%%2Fbar", (string)slash["path"]!);
        var plus = EchoOf(await InvokeAsync(Fixture("encode-plus-in-resource-path-httpapi-v2.json")));
        Assert.Equal("/foo+bar", (string)plus["path"]!);
        var space = EchoOf(await InvokeAsync(Fixture("encode-space-in-resource-path-httpapi-v2.json")));
        Assert.Equal("/api/resourcepath/string/tmh/file name.xml", (string)space["path"]!);
        var reserved = EchoOf(await InvokeAsync(Fixture("rawtarget-escaped-reserved-in-query-httpapi-v2.json")));
        Assert.Equal("b@r", (string)reserved["query"]!["foo"]![0]!);
    }

    [Fact]
    public async Task Multi_value_query_strings_keep_every_value()
    {
        var echo = EchoOf(await InvokeAsync(Fixture("values-get-querystring-httpapi-v2-mv-request.json")));

        Assert.Equal(["value1", "value2"], echo["query"]!["mv-test"]!.AsArray().Select(v => (string?)v));
        Assert.Equal("Lewis", (string?)echo["query"]!["firstName"]![0]);
    }

    [Fact]
    public async Task The_named_stage_becomes_the_path_base()
    {
        var echo = EchoOf(await InvokeAsync(Fixture("values-get-all-httpapi-v2-with-stage.json")));

        Assert.Equal("/beta", (string)echo["pathBase"]!);
        Assert.Equal("/api/values", (string)echo["path"]!);
    }

    [Fact]
    public async Task The_rest_api_payload_maps_headers_query_and_body()
    {
        var payload = Fixture("proxy-event.json");

        var response = await InvokeAsync(payload);

        Assert.NotNull(response["multiValueHeaders"]);
        var echo = JsonNode.Parse((string)response["body"]!)!;
        Assert.Equal("POST", (string)echo["method"]!);
        Assert.Equal("/hello/world", (string)echo["path"]!);
        Assert.Equal("me", (string?)echo["query"]!["name"]![0]);
        Assert.Equal((string)payload["body"]!, Encoding.UTF8.GetString(Convert.FromBase64String((string)echo["body"]!)));
    }

    [Fact]
    public async Task Rest_api_multi_value_headers_and_query_strings_arrive_complete()
    {
        var payload = Fixture("proxy-event.json");
        payload["multiValueQueryStringParameters"] = new JsonObject { ["tag"] = new JsonArray("a b", "c&d") };
        payload["multiValueHeaders"] = new JsonObject { ["X-Many"] = new JsonArray("1", "2") };

        var echo = JsonNode.Parse((string)(await InvokeAsync(payload))["body"]!)!;

        Assert.Equal(["a b", "c&d"], echo["query"]!["tag"]!.AsArray().Select(v => (string?)v));
        Assert.Equal("1,2", (string?)echo["headers"]!["x-many"]);
    }

    [Fact]
    public async Task Binary_responses_are_base64_and_bodies_round_trip()
    {
        var payload = Fixture("http-api-v2-request.json");
        payload["rawPath"] = "/binary";
        payload["requestContext"]!["http"]!["path"] = "/binary";

        var response = await InvokeAsync(payload);

        Assert.True((bool)response["isBase64Encoded"]!);
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), Convert.FromBase64String((string)response["body"]!));

        var upload = Fixture("http-api-v2-request.json");
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        upload["body"] = Convert.ToBase64String(bytes);
        upload["isBase64Encoded"] = true;
        Assert.Equal(Convert.ToBase64String(bytes), (string)EchoOf(await InvokeAsync(upload))["body"]!);
    }

    [Fact]
    public async Task Set_cookie_headers_become_v2_cookies_and_v1_multi_value_headers()
    {
        var v2 = Fixture("http-api-v2-request.json");
        v2["rawPath"] = "/cookies";
        var response = await InvokeAsync(v2);
        Assert.Equal(["a=1; path=/", "b=2; path=/"], response["cookies"]!.AsArray().Select(c => (string?)c));
        Assert.Equal("x,y", (string?)response["headers"]!["X-Multi"]);

        var v1 = Fixture("proxy-event.json");
        v1["path"] = "/cookies";
        var restResponse = await InvokeAsync(v1);
        Assert.Equal(2, restResponse["multiValueHeaders"]!["Set-Cookie"]!.AsArray().Count);
        Assert.Equal(["x", "y"], restResponse["multiValueHeaders"]!["X-Multi"]!.AsArray().Select(v => (string?)v));
    }

    [Fact]
    public async Task An_unhandled_exception_fails_the_invocation()
    {
        var payload = Fixture("http-api-v2-request.json");
        payload["rawPath"] = "/throw";

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => InvokeAsync(payload));
        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public async Task Authorizer_claims_become_the_user_only_for_access_tokens_of_the_client()
    {
        var payload = Fixture("authtest-access-request-httpapi-v2.json");
        payload["rawPath"] = "/echo";
        var claims = new JsonObject
        {
            ["sub"] = "user-1",
            ["iss"] = Issuer,
            ["client_id"] = ClientId,
            ["token_use"] = "access",
            ["cognito:groups"] = "[admins editors]",
        };
        payload["requestContext"]!["authorizer"]!["jwt"]!["claims"] = claims;

        var echo = EchoOf(await InvokeAsync(payload));
        Assert.Equal("user-1", (string?)echo["user"]);
        Assert.Equal(["admins", "editors"], echo["groups"]!.AsArray().Select(g => (string?)g));

        // The fixture's own claims are an ID token of another client: not a user.
        var idToken = EchoOf(await InvokeAsync(Fixture("authtest-access-request-httpapi-v2.json")));
        Assert.Null((string?)idToken["user"]);

        claims["client_id"] = "another-client";
        Assert.Null((string?)EchoOf(await InvokeAsync(payload))["user"]);
    }

    [Fact]
    public async Task The_lambda_trace_header_becomes_the_requests_parent()
    {
        var echo = EchoOf(await InvokeAsync(Fixture("traceid-get-httpapi-v2-request.json"),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"));

        Assert.Equal("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", (string?)echo["traceParent"]);
    }

    [Fact]
    public async Task An_s3_notification_is_handed_to_the_object_created_handler()
    {
        var payload = Fixture("s3-event.json");
        payload["Records"]![0]!["s3"]!["object"]!["key"] = "originals/user+1/file%20name.jpg";

        var response = await InvokeAsync(payload);

        // Keys arrive URL-encoded ('+' for spaces), as S3 sends them.
        Assert.Equal(["originals/user 1/file name.jpg", "New File.jpg"], _s3.Records.Select(r => r.Key));
        Assert.Equal("sourcebucket", _s3.Records[0].Bucket);
        Assert.Equal(1024, _s3.Records[0].Size);
        Assert.Equal(["originals/user 1/file name.jpg", "New File.jpg"], response["processed"]!.AsArray().Select(r => (string?)r!["key"]));
        Assert.Empty(response["failed"]!.AsArray());
    }

    [Theory]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")]
    [InlineData("Parent=53995c3f42cd8ad8; Root=1-5759E988-BD862E3FE1BE46A994272793", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793", null)]
    [InlineData("Root=1-5759e988-short;Parent=53995c3f42cd8ad8;Sampled=1", null)]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Parent=0000000000000000", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")]
    [InlineData("", null)]
    public void An_xray_trace_header_becomes_a_w3c_traceparent_or_nothing(string header, string? expected)
    {
        Assert.Equal(expected, XRayTraceHeader.ToTraceParent(header));
    }

    [Fact]
    public async Task A_failing_s3_record_fails_the_invocation_after_the_others_ran()
    {
        var payload = Fixture("s3-event.json");
        var second = payload["Records"]![0]!.DeepClone();
        second["s3"]!["object"]!["key"] = "fail-me";
        payload["Records"]!.AsArray().Add(second);

        var error = await Assert.ThrowsAsync<LambdaInvocationException>(() => InvokeAsync(payload));

        Assert.Contains("fail-me", error.Message, StringComparison.Ordinal);
        Assert.Equal(["HappyFace.jpg", "New File.jpg", "fail-me"], _s3.Records.Select(r => r.Key));
    }

    [Fact]
    public async Task An_unknown_payload_fails_the_invocation()
    {
        await Assert.ThrowsAsync<LambdaInvocationException>(() => InvokeAsync(new JsonObject { ["hello"] = "world" }));
    }

    private sealed class RecordingHandler : IObjectCreatedHandler
    {
        public List<S3ObjectEvent> Records { get; } = [];

        public Task<S3RecordResult> HandleAsync(S3ObjectEvent record, CancellationToken cancellationToken)
        {
            Records.Add(record);
            return record.Key == "fail-me"
                ? throw new InvalidOperationException("cannot process fail-me")
                : Task.FromResult(new S3RecordResult(record.Key, null, null));
        }
    }
}

/// <summary>The local HTTP API serves the template's route, whatever its prefix, method and stage.</summary>
public sealed class HttpApiRouteTests
{
    [Theory]
    [InlineData("ANY /api/{proxy+}", "$default", "ANY", "/api/")]
    [InlineData("POST /v2/things/{proxy+}", "prod", "POST", "/v2/things/")]
    public void A_greedy_route_is_read_from_its_key(string routeKey, string stage, string method, string prefix)
    {
        var route = ImageAspire.LocalLambda.HttpApiRoute.Parse(routeKey, stage);

        Assert.Equal(method, route.Method);
        Assert.Equal(prefix, route.PathPrefix);
        Assert.Equal(stage, route.Stage);
    }

    [Theory]
    [InlineData("GET /api/images")]
    [InlineData("$default")]
    [InlineData("ANY api/{proxy+}")]
    [InlineData(null)]
    public void Routes_the_local_API_cannot_serve_are_refused_by_name(string? routeKey)
    {
        var refusal = Assert.Throws<InvalidOperationException>(() => ImageAspire.LocalLambda.HttpApiRoute.Parse(routeKey, null));

        Assert.Contains($"'{routeKey}'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("greedy proxy route", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_event_carries_the_route_key_stage_and_proxy_parameter_of_the_template_route()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/v2/things/a/b";
        var route = ImageAspire.LocalLambda.HttpApiRoute.Parse("ANY /v2/things/{proxy+}", "prod");

        var payload = ImageAspire.LocalLambda.LocalHttpApi.CreateEvent(context, new Dictionary<string, string> { ["sub"] = "s" }, [], route);

        Assert.Equal("ANY /v2/things/{proxy+}", (string?)payload["routeKey"]);
        Assert.Equal("prod", (string?)payload["requestContext"]!["stage"]);
        Assert.Equal("a/b", (string?)payload["pathParameters"]!["proxy"]);
    }
}

/// <summary>Every invocation that is not an HTTP request gets its own DI scope, disposed when it ends, as a request does.</summary>
public sealed class LambdaInvocationScopeTests
{
    [Fact]
    public async Task Each_S3_event_invocation_resolves_and_disposes_its_own_scoped_services()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton<LambdaServer>();
        builder.Services.AddSingleton<IServer>(sp => sp.GetRequiredService<LambdaServer>());
        builder.Services.AddScoped<IObjectCreatedHandler, ScopedHandler>();
        builder.Services.AddScoped<S3EventProcessor>();
        await using var app = builder.Build();
        await app.StartAsync(TestContext.Current.CancellationToken);
        var server = app.Services.GetRequiredService<LambdaServer>();
        var payload = File.ReadAllBytes(Repository.PathOf("Tests", "Fixtures", "aws-events", "s3-event.json"));

        ScopedHandler.Seen.Clear();
        foreach (var id in new[] { "req-1", "req-2" })
        {
            await server.HandleAsync(new LambdaInvocation(id, payload, DateTimeOffset.UtcNow.AddMinutes(1), null, null), TestContext.Current.CancellationToken);
        }

        Assert.Equal(2, ScopedHandler.Seen.Count);
        Assert.NotSame(ScopedHandler.Seen[0], ScopedHandler.Seen[1]);
        Assert.All(ScopedHandler.Seen, handler => Assert.True(handler.Disposed, "a scoped service outlived its invocation"));
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    private sealed class ScopedHandler : IObjectCreatedHandler, IDisposable
    {
        public static readonly List<ScopedHandler> Seen = [];

        public bool Disposed { get; private set; }

        public Task<S3RecordResult> HandleAsync(S3ObjectEvent record, CancellationToken cancellationToken)
        {
            lock (Seen)
            {
                if (!Seen.Contains(this))
                {
                    Seen.Add(this);
                }
            }

            return Task.FromResult(new S3RecordResult(record.Key, null, null));
        }

        public void Dispose() => Disposed = true;
    }
}
