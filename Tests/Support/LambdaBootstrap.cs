using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.LocalLambda;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Tests.Support;

/// <summary>
/// The published Lambda <c>bootstrap</c> and a local Runtime API to run it against; shared by the published-artifact
/// test and the cold-start benchmark (linked into Tests/Benchmarks).
/// </summary>
public sealed class LambdaBootstrap : IAsyncDisposable
{
    public const string Issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test";
    public const string ClientId = "client";

    private readonly WebApplication _runtimeApi;

    private LambdaBootstrap(WebApplication runtimeApi, LocalLambdaFunction function, Uri address, System.Collections.Concurrent.ConcurrentQueue<string> traceExports)
    {
        _runtimeApi = runtimeApi;
        TraceExports = traceExports;
        Function = function;
        RuntimeApi = $"{address.Host}:{address.Port}";
        RuntimeApiPort = address.Port;
    }

    public LocalLambdaFunction Function { get; }

    /// <summary>
    /// The OTLP trace exports the bootstrap sent to the stand-in for X-Ray's endpoint (<c>POST /v1/traces</c> of the same
    /// server): their <c>Authorization</c> headers, in order.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> TraceExports { get; }

    /// <summary>The media signing key the bootstrap is given, as the AppHost gives one per run.</summary>
    public CloudFrontKeyPair MediaKeyPair { get; } = CloudFrontKeyPair.Create();

    /// <summary>host:port, as <c>AWS_LAMBDA_RUNTIME_API</c> gives it.</summary>
    public string RuntimeApi { get; }

    /// <summary>The Runtime API's port (on the loopback).</summary>
    public int RuntimeApiPort { get; }

    /// <summary>This machine's runtime identifier (the artifact must run here).</summary>
    public static string HostRid =>
        System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";

    /// <summary>The <c>dotnet</c> arguments that publish the Native AOT bootstrap (the command line of the README and deploy.sh).</summary>
    public static string[] PublishArguments(string rid, string output) =>
        ["publish", Repository.PathOf("ImageService", "ImageService.csproj"), "-c", "Release", "-r", rid, "-p:LambdaBootstrap=true", "-o", output, "-v", "quiet"];

    /// <summary>The files of a publish folder that deploy.sh zips (debug symbols and the static-assets manifest left out).</summary>
    public static List<string> DeployedFiles(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".dbg", StringComparison.Ordinal)
            && !f.EndsWith(".pdb", StringComparison.Ordinal) && !f.EndsWith(".staticwebassets.endpoints.json", StringComparison.Ordinal))];

    private static readonly Lazy<Task<string>> HostBootstrap = new(PublishHostBootstrapAsync);

    /// <summary>
    /// The Native AOT bootstrap for this machine, published once per test process (a publish takes minutes) for every
    /// test class that runs it; removed when the process exits.
    /// </summary>
    public static Task<string> PublishedForHostAsync() => HostBootstrap.Value;

    private static async Task<string> PublishHostBootstrapAsync()
    {
        var output = Path.Combine(Path.GetTempPath(), $"imageaspire-bootstrap-{Guid.NewGuid():N}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        };
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(12));
        var (exitCode, log) = await Repository.RunAsync("dotnet", PublishArguments(HostRid, output), Repository.Root, cancellation.Token);
        return exitCode == 0 ? output : throw new InvalidOperationException($"Publishing the bootstrap failed: {log}");
    }

    public static async Task<LambdaBootstrap> StartRuntimeApiAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var function = new LocalLambdaFunction();
        var api = builder.Build();
        function.MapRuntimeApi(api);
        var exports = new System.Collections.Concurrent.ConcurrentQueue<string>();
        api.MapPost("/v1/traces", (HttpRequest request) =>
        {
            exports.Enqueue(request.Headers.Authorization.ToString());
            return Results.Ok();
        });
        await api.StartAsync(cancellationToken);
        var address = new Uri(api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new LambdaBootstrap(api, function, address, exports);
    }

    /// <summary>Starts the bootstrap in <paramref name="directory"/>; <paramref name="configured"/> false leaves out the storage settings.</summary>
    public ProcessStartInfo StartInfo(string directory, bool configured = true) => StartInfo(directory, FunctionEnvironment(configured));

    /// <summary>Starts the bootstrap in <paramref name="directory"/> against the emulators and provisioned resources of an AppHost.</summary>
    public ProcessStartInfo StartInfo(string directory, Uri s3, Uri dynamoDb, ProvisionedEnvironment provisioned) =>
        StartInfo(directory, FunctionEnvironment(s3, dynamoDb, provisioned));

    private static ProcessStartInfo StartInfo(string directory, Dictionary<string, string> environment)
    {
        // In the deployed folder, as Lambda starts it in /var/task: the content root, whose appsettings.json the host watches.
        var start = new ProcessStartInfo(Path.Combine(directory, "bootstrap"))
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return start;
    }

    /// <summary>The function's environment, as the template gives it; <paramref name="configured"/> false leaves out the storage settings.</summary>
    public Dictionary<string, string> FunctionEnvironment(bool configured = true)
    {
        var environment = new Dictionary<string, string>
        {
            ["AWS_LAMBDA_RUNTIME_API"] = RuntimeApi,
            ["AWS_REGION"] = "us-east-1",
            ["AWS_ACCESS_KEY_ID"] = "test",
            ["AWS_SECRET_ACCESS_KEY"] = "test",
            ["Auth__Issuer"] = Issuer,
            ["Auth__ClientId"] = ClientId,
            ["Auth__AdminsGroup"] = "test-admins",
            ["Media__KeyPairId"] = MediaKeyPair.KeyPairId,
            ["Media__PrivateKey"] = MediaKeyPair.PrivateKeyPem,
            ["Media__PathKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["MALLOC_ARENA_MAX"] = "2",
            // No Rekognition here (the AppHost's AOT tests run the bootstrap with the local one).
            ["Analysis__Enabled"] = "false",
            // The telemetry of the template's function: Lambda's JSON logs, EMF metrics, spans to X-Ray's OTLP endpoint
            // (here a stand-in on this server).
            ["AWS_LAMBDA_LOG_FORMAT"] = "JSON",
            ["AWS_LAMBDA_LOG_LEVEL"] = "INFO",
            ["Telemetry__EmfNamespace"] = "imageaspire/test",
            ["Telemetry__AwsTracesEndpoint"] = $"http://{RuntimeApi}/v1/traces",
        };
        if (configured)
        {
            environment["Storage__OriginalsBucket"] = "originals";
            environment["Storage__RenditionsBucket"] = "renditions";
            environment["Storage__Table"] = "images";
        }

        return environment;
    }

    /// <summary>The function's environment against the emulators and provisioned resources of an AppHost.</summary>
    public Dictionary<string, string> FunctionEnvironment(Uri s3, Uri dynamoDb, ProvisionedEnvironment provisioned)
    {
        ArgumentNullException.ThrowIfNull(provisioned);
        var environment = FunctionEnvironment();
        environment["AWS_ACCESS_KEY_ID"] = LocalAwsBackend.EmbeddedAccessKeyId;
        environment["AWS_SECRET_ACCESS_KEY"] = LocalAwsBackend.EmbeddedAccessKeyId;
        environment["AWS_ENDPOINT_URL_S3"] = s3.ToString();
        environment["AWS_ENDPOINT_URL_DYNAMODB"] = dynamoDb.ToString();
        environment["Storage__OriginalsBucket"] = provisioned["OriginalsBucketName"];
        environment["Storage__RenditionsBucket"] = provisioned["RenditionsBucketName"];
        environment["Storage__Table"] = provisioned["ImagesTableName"];
        return environment;
    }

    /// <summary>Queues a direct upload of one JPEG (<c>POST /api/images</c>, multipart) by the user of <paramref name="claims"/>.</summary>
    public async Task<InvocationResult> UploadAsync(JsonObject claims, byte[] jpeg, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(jpeg);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(file, "file", "upload.jpg");
        var body = await form.ReadAsByteArrayAsync(cancellationToken);
        return await InvokeAsync("POST", "/api/images", claims, form.Headers.ContentType!.ToString(), body, timeout, cancellationToken);
    }

    /// <summary>Queues an HTTP API (payload 2.0) GET of <paramref name="path"/>, with authorizer claims when given.</summary>
    public Task<InvocationResult> InvokeAsync(string path, JsonObject? claims, TimeSpan timeout, CancellationToken cancellationToken) =>
        InvokeAsync("GET", path, claims, null, null, timeout, cancellationToken);

    /// <summary>Queues an HTTP API (payload 2.0) request, its body base64-encoded as API Gateway sends binary bodies.</summary>
    public Task<InvocationResult> InvokeAsync(
        string method, string path, JsonObject? claims, string? contentType, byte[]? body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var headers = new JsonObject { ["accept"] = "application/json" };
        if (contentType is not null)
        {
            headers["content-type"] = contentType;
        }

        return Function.InvokeAsync(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["version"] = "2.0",
            ["routeKey"] = "ANY /api/{proxy+}",
            ["rawPath"] = path,
            ["rawQueryString"] = string.Empty,
            ["headers"] = headers,
            ["requestContext"] = new JsonObject
            {
                ["http"] = new JsonObject { ["method"] = method, ["path"] = path, ["sourceIp"] = "127.0.0.1" },
                ["requestId"] = Guid.NewGuid().ToString(),
                ["stage"] = "$default",
                ["authorizer"] = claims is null ? null : new JsonObject { ["jwt"] = new JsonObject { ["claims"] = claims } },
            },
            ["body"] = body is null ? null : Convert.ToBase64String(body),
            ["isBase64Encoded"] = body is not null,
        }.ToJsonString()), timeout, cancellationToken);
    }

    /// <summary>The authorizer claims of an access token of <see cref="ClientId"/> for <paramref name="sub"/>.</summary>
    public static JsonObject Claims(string sub) => new()
    {
        ["sub"] = sub,
        ["iss"] = Issuer,
        ["client_id"] = ClientId,
        ["token_use"] = "access",
    };

    public ValueTask DisposeAsync() => _runtimeApi.DisposeAsync();
}
