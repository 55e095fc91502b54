using ImageAspire.ImageService.Media;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.AppHost;
using ImageAspire.Hosting.LocalAws;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Tests.Support;

/// <summary>The real AppHost, started once for every test class of the <c>apphost</c> collection.</summary>
public class AppHostFixture : IAsyncLifetime
{
    /// <summary>The service as a Lambda function behind the local Lambda service, instead of on Kestrel.</summary>
    protected virtual bool LambdaMode => false;

    /// <summary>AppHost configuration arguments: the mode, no web app; a fixture adds its own.</summary>
    protected virtual string[] Arguments => LambdaMode ? ["ImageService:Mode=lambda", "Web:Enabled=false"] : ["Web:Enabled=false"];

    /// <summary>Extra environment for the image service (e.g. <c>Processing__ClaimTimeout</c>), on top of the AppHost's.</summary>
    protected virtual IReadOnlyDictionary<string, string> ServiceEnvironment { get; } = new Dictionary<string, string>();

    /// <summary>The resource that serves the API: the service itself, or the local HTTP API in Lambda mode.</summary>
    public string ApiResource => LambdaMode ? "lambda" : "imageservice";

    /// <summary>Extra environment for the local Lambda service in Lambda mode (e.g. <c>Lambda__TimeoutSeconds</c>).</summary>
    protected virtual IReadOnlyDictionary<string, string> LambdaEnvironment { get; } = new Dictionary<string, string>();

    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private DistributedApplication? _app;
    private readonly HttpClient _cognitoHttp = new() { Timeout = TimeSpan.FromSeconds(30) };

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    public ProvisionedEnvironment Environment { get; private set; } = null!;

    public IAmazonS3 S3 { get; private set; } = null!;

    public IAmazonDynamoDB DynamoDb { get; private set; } = null!;

    public CognitoClient Cognito { get; private set; } = null!;

    public string ClientId => Environment["UserPoolClientId"];

    public virtual async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(Arguments, cts.Token);
        // Health checks fail while resources stop at the end of a class; those lines would bury real failures.
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        var service = builder.CreateResourceBuilder(builder.Resources.OfType<IResourceWithEnvironment>().Single(r => r.Name == "imageservice"));
        foreach (var (name, value) in ServiceEnvironment)
        {
            service.WithEnvironment(name, value);
        }

        if (builder.Resources.OfType<ProjectResource>().SingleOrDefault(r => r.Name == "lambda") is { } lambdaResource)
        {
            var lambda = builder.CreateResourceBuilder(lambdaResource);
            foreach (var (name, value) in LambdaEnvironment)
            {
                lambda.WithEnvironment(name, value);
            }
        }

        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);

        await _app.ResourceNotifications.WaitForResourceHealthyAsync(ApiResource, cts.Token);
        await _app.ResourceNotifications.WaitForResourceAsync("imageservice", KnownResourceStates.Running, cts.Token);

        var model = _app.Services.GetRequiredService<DistributedApplicationModel>();
        Environment = await model.Resources.OfType<ProvisioningResource>().Single().Result.WaitAsync(cts.Token);

        var credentials = new BasicAWSCredentials(LocalAwsBackend.EmbeddedAccessKeyId, LocalAwsBackend.EmbeddedAccessKeyId);
        // SDK v4 defaults on purpose: aws-chunked uploads with trailing checksums, as the service sends them.
        S3 = new AmazonS3Client(credentials, new AmazonS3Config
        {
            ServiceURL = _app.GetEndpoint("s3", "http").ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
        });
        DynamoDb = new AmazonDynamoDBClient(credentials, new AmazonDynamoDBConfig
        {
            ServiceURL = _app.GetEndpoint("dynamodb", "http").ToString(),
            AuthenticationRegion = "us-east-1",
        });
        Cognito = new CognitoClient(_cognitoHttp, _app.GetEndpoint("cognito", "http"));

        // The media secrets the AppHost made for this run, as the service is given them (GetEnvironmentVariableValuesAsync
        // is obsolete in favour of a builder API that does the same with more ceremony).
        var serviceResource = model.Resources.OfType<IResourceWithEnvironment>().Single(r => r.Name == "imageservice");
#pragma warning disable CS0618
        MediaEnvironment = await serviceResource.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run).AsTask().WaitAsync(cts.Token);
#pragma warning restore CS0618
        MediaPaths = new MediaPathCodec(Convert.FromBase64String(MediaEnvironment["Media__PathKey"]));
    }

    /// <summary>The service's environment (its media keys among it).</summary>
    public IReadOnlyDictionary<string, string> MediaEnvironment { get; private set; } = null!;

    /// <summary>The codec of the service's opaque media keys.</summary>
    public MediaPathCodec MediaPaths { get; private set; } = null!;

    /// <summary>The service's media secrets, for running its code (the sweeper) from a test.</summary>
    public MediaSecrets CreateMediaSecrets() => new(Microsoft.Extensions.Options.Options.Create(new MediaOptions
    {
        KeyPairId = MediaEnvironment["Media__KeyPairId"],
        PrivateKey = MediaEnvironment["Media__PrivateKey"],
        PathKey = MediaEnvironment["Media__PathKey"],
    }));

    /// <summary>The prefix of a user's renditions in the renditions bucket.</summary>
    public string RenditionsPrefixOf(string sub) => $"renditions/{MediaPaths.Encode(sub)}/";

    public HttpClient CreateServiceClient(string? accessToken = null)
    {
        var client = App.CreateHttpClient(ApiResource, "http");
        client.Timeout = TimeSpan.FromSeconds(60);
        // A connection per request: the factory's pooled connections outlive a test, and one reused just as the local
        // proxy chain (DCP's endpoint proxy, Kestrel) closed it was reset once (CI4), which no deployed client meets.
        client.DefaultRequestHeaders.ConnectionClose = true;
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client;
    }

    /// <summary>Signs up, confirms and signs in a fresh user; returns their tokens.</summary>
    public async Task<CognitoTokens> NewUserAsync(CancellationToken cancellationToken = default)
    {
        var email = $"user-{Guid.NewGuid():N}@example.com";
        const string password = "Test-pass1";
        await Cognito.SignUpAndConfirmAsync(ClientId, email, password, LocalAwsBackend.ConfirmationCode, cancellationToken);
        return await Cognito.SignInAsync(ClientId, email, password, cancellationToken);
    }

    /// <summary>A fresh signed-in user: a client carrying their access token, and their subject.</summary>
    public async Task<(HttpClient Client, string Sub)> NewUserClientAsync(CancellationToken cancellationToken)
    {
        var tokens = await NewUserAsync(cancellationToken);
        var client = CreateServiceClient(tokens.AccessToken);
        var sub = (string)(await client.GetFromJsonAsync<JsonObject>("/api/me", cancellationToken))!["sub"]!;
        return (client, sub);
    }

    /// <summary>Every key under a prefix of a local bucket, following continuation tokens.</summary>
    /// <summary>The bytes of a stored rendition, read from the renditions bucket.</summary>
    public async Task<byte[]> ReadRenditionAsync(string key, CancellationToken cancellationToken)
    {
        using var stored = await S3.GetObjectAsync(Environment["RenditionsBucketName"], key, cancellationToken);
        using var buffer = new MemoryStream();
        await stored.ResponseStream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    public async Task<List<string>> ListKeysAsync(string bucket, string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        string? token = null;
        do
        {
            var page = await S3.ListObjectsV2Async(new() { BucketName = bucket, Prefix = prefix, ContinuationToken = token }, cancellationToken);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        return keys;
    }

    public virtual async ValueTask DisposeAsync()
    {
        S3?.Dispose();
        DynamoDb?.Dispose();
        _cognitoHttp.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The AppHost with ImageService running as a Lambda function behind the local HTTP API.</summary>
public sealed class LambdaAppHostFixture : AppHostFixture
{
    protected override bool LambdaMode => true;
}

[CollectionDefinition(Name)]
public sealed class AppHostGroup : ICollectionFixture<AppHostFixture>
{
    public const string Name = "apphost";
}

[CollectionDefinition(Name)]
public sealed class LambdaAppHostGroup : ICollectionFixture<LambdaAppHostFixture>
{
    public const string Name = "apphost-lambda";
}
