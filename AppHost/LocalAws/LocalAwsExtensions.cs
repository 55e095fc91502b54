using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.S3;
using ImageAspire.Infra.Provisioning;
using ImageAspire.Infra.Templates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImageAspire.AppHost.LocalAws;

/// <summary>The local AWS backend of the AppHost: where S3, DynamoDB and Cognito are, and the provisioning step.</summary>
public sealed class LocalAwsBackend
{
    internal LocalAwsBackend(LocalAwsOptions options, string dataDirectory, string s3EventSecret)
    {
        Options = options;
        DataDirectory = dataDirectory;
        S3EventSecret = s3EventSecret;
    }

    /// <summary>The options the backend was built with.</summary>
    public LocalAwsOptions Options { get; }

    /// <summary>The folder holding the emulators' data for this run.</summary>
    public string DataDirectory { get; }

    /// <summary>The shared secret the local S3 sends with object events (the webhook checks it).</summary>
    public string S3EventSecret { get; }

    /// <summary>The renditions bucket's name, resolved from the template before anything starts.</summary>
    public string RenditionsBucketName { get; internal set; } = string.Empty;

    /// <summary>The template everything local is provisioned from.</summary>
    public string TemplatePath { get; internal set; } = string.Empty;

    /// <summary>The template, read once when the model is built.</summary>
    internal CloudFormationTemplate Template { get; set; } = null!;

    /// <summary>The originals bucket's name, resolved from the template before anything starts.</summary>
    public string OriginalsBucketName { get; internal set; } = string.Empty;

    /// <summary>The S3 endpoint (the emulator or LocalStack).</summary>
    public EndpointReference S3Endpoint { get; internal set; } = null!;

    /// <summary>The DynamoDB endpoint (the emulator or LocalStack).</summary>
    public EndpointReference DynamoDbEndpoint { get; internal set; } = null!;

    /// <summary>The Cognito user pools endpoint (always the emulator: Cognito is a paid LocalStack feature).</summary>
    public EndpointReference CognitoEndpoint { get; internal set; } = null!;

    /// <summary>
    /// The local access key: s3rver knows only its own key pair, and LocalStack checks presigned URLs only for
    /// its <c>test</c> pair, so each backend gets the one it verifies signatures with.
    /// </summary>
    public string AccessKeyId => Options.Backend == LocalAwsBackendKind.LocalStack ? "test" : "S3RVER";

    /// <summary>The secret of <see cref="AccessKeyId"/>.</summary>
    public string SecretAccessKey => AccessKeyId;

    /// <summary>The resource whose process serves S3 (it takes the webhook address).</summary>
    public IResourceBuilder<IResourceWithEnvironment> S3Host { get; internal set; } = null!;

    /// <summary>The user pool's issuer: <c>&lt;cognito address&gt;/&lt;pool id&gt;</c>, as in the tokens.</summary>
    public ReferenceExpression Issuer => ReferenceExpression.Create($"{CognitoEndpoint}/{Provisioning.Resource.Output("UserPoolId")}");

    /// <summary>The app client id.</summary>
    public ProvisionedOutputReference ClientId => Provisioning.Resource.Output("UserPoolClientId");

    /// <summary>The step that applies the template to the backend; services wait for it to complete.</summary>
    public IResourceBuilder<ProvisioningResource> Provisioning { get; internal set; } = null!;

    /// <summary>The user that the README gives for trying the app.</summary>
    public static SeedUser DemoUser { get; } = new("demo@imageaspire.local", "Demo-pass1", IsAdmin: false);

    /// <summary>A member of the <c>admins</c> group, who may change the settings.</summary>
    public static SeedUser AdminUser { get; } = new("admin@imageaspire.local", "Admin-pass1", IsAdmin: true);

    /// <summary>The confirmation code the local Cognito accepts for every sign-up.</summary>
    public const string ConfirmationCode = "123456";
}

/// <summary>Adds the local AWS backend to the AppHost and wires services to it.</summary>
public static class LocalAwsExtensions
{
    /// <summary>
    /// Adds the local AWS backend chosen by the <c>LocalAws</c> configuration section: an <c>npm ci</c>
    /// step, the S3/DynamoDB/Cognito emulators (or LocalStack for S3 and DynamoDB) with health checks, and
    /// a provisioning step that applies <c>Infra/Deploy/template.yaml</c> and seeds settings and users.
    /// </summary>
    public static LocalAwsBackend AddLocalAws(this IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection("LocalAws").Get<LocalAwsOptions>() ?? new LocalAwsOptions();
        options.SiteOrigins = [$"http://localhost:{LocalEdgeExtensions.EdgePort(builder.Configuration)}"];
        var infraDirectory = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "Infra"));
        var localDirectory = Path.Combine(infraDirectory, "Local");
        var emulatorsDirectory = Path.Combine(localDirectory, "emulators");
        var dataDirectory = !string.IsNullOrWhiteSpace(options.DataDirectory)
            ? Path.GetFullPath(options.DataDirectory)
            : options.KeepData
                ? Path.Combine(builder.AppHostDirectory, ".data")
                : Path.Combine(Path.GetTempPath(), "imageaspire", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(dataDirectory);
        var backend = new LocalAwsBackend(options, dataDirectory, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));
        var template = CloudFormationTemplate.Load(Path.Combine(infraDirectory, "Deploy", "template.yaml"));
        var context = new TemplateContext(template, TemplateParameters(options));
        backend.OriginalsBucketName = CloudFormationTemplate.Resolve(
            template.Resources.Single(r => r.LogicalId == "OriginalsBucket").Properties["BucketName"], context)?.ToString() ?? string.Empty;
        backend.RenditionsBucketName = CloudFormationTemplate.Resolve(
            template.Resources.Single(r => r.LogicalId == "RenditionsBucket").Properties["BucketName"], context)?.ToString() ?? string.Empty;
        backend.TemplatePath = Path.Combine(infraDirectory, "Deploy", "template.yaml");
        backend.Template = template;

        var npm = builder.AddExecutable("npm-ci", "node", emulatorsDirectory, "install-once.js")
            .WithEnvironment("npm_config_update_notifier", "false");

        var cognito = builder.AddExecutable("cognito", "node", emulatorsDirectory, "cognito.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("COGNITO_DATA_DIR", Path.Combine(dataDirectory, "cognito"))
            .WithEnvironment("COGNITO_CONFIRMATION_CODE", LocalAwsBackend.ConfirmationCode)
            .WithHttpHealthCheck("/health")
            .WaitForCompletion(npm);
        cognito.WithEnvironment("COGNITO_ISSUER_DOMAIN", cognito.GetEndpoint("http"));
        backend.CognitoEndpoint = cognito.GetEndpoint("http");

        IResourceBuilder<IResource>[] storage;
        if (options.Backend == LocalAwsBackendKind.LocalStack)
        {
            var localstack = builder.AddContainer("localstack", "localstack/localstack", options.LocalStackImageTag)
                .WithHttpEndpoint(targetPort: 4566, name: "http")
                .WithEnvironment("SERVICES", "s3,dynamodb")
                .WithEnvironment("AWS_DEFAULT_REGION", options.Region)
                // As S3 does: a presigned URL works only for the key, headers and time it was signed for.
                .WithEnvironment("S3_SKIP_SIGNATURE_VALIDATION", "0")
                .WithHttpHealthCheck("/_localstack/health");
            if (options.KeepData)
            {
                localstack.WithBindMount(Path.Combine(dataDirectory, "localstack"), "/var/lib/localstack").WithEnvironment("PERSISTENCE", "1");
            }

            backend.S3Endpoint = localstack.GetEndpoint("http");
            backend.DynamoDbEndpoint = localstack.GetEndpoint("http");
            backend.S3Host = localstack;
            storage = [localstack];
        }
        else
        {
            var s3 = builder.AddExecutable("s3", "node", emulatorsDirectory, "--openssl-legacy-provider", "s3.js")
                .WithHttpEndpoint(env: "PORT", name: "http")
                .WithEnvironment("S3_DATA_DIR", Path.Combine(dataDirectory, "s3"))
                .WithEnvironment("S3_EVENT_WEBHOOK_SECRET", backend.S3EventSecret)
                .WithHttpHealthCheck("/")
                .WaitForCompletion(npm);
            var dynamodb = builder.AddExecutable("dynamodb", "node", emulatorsDirectory, "dynamodb.js")
                .WithHttpEndpoint(env: "PORT", name: "http")
                .WithEnvironment("DYNAMODB_DATA_DIR", Path.Combine(dataDirectory, "dynamodb"))
                .WithHttpHealthCheck("/")
                .WaitForCompletion(npm);
            backend.S3Endpoint = s3.GetEndpoint("http");
            backend.DynamoDbEndpoint = dynamodb.GetEndpoint("http");
            backend.S3Host = s3;
            storage = [s3, dynamodb];
        }

        var provisioning = builder.AddResource(new ProvisioningResource("provisioning"))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Provisioning",
                State = KnownResourceStates.NotStarted,
                Properties = [new("template", backend.TemplatePath)],
            })
            .WaitFor(cognito);
        foreach (var resource in storage)
        {
            provisioning.WaitFor(resource);
        }

        backend.Provisioning = provisioning;
        builder.Eventing.Subscribe<InitializeResourceEvent>(provisioning.Resource, (e, ct) =>
        {
            var stopping = e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = Task.Run(() => ProvisionAsync(e, backend, provisioning.Resource, localDirectory, stopping), stopping);
            return Task.CompletedTask;
        });

        if (!options.KeepData && string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            builder.Eventing.Subscribe<AfterResourcesCreatedEvent>((e, _) =>
            {
                e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(() => TryDelete(dataDirectory));
                return Task.CompletedTask;
            });
        }

        return backend;
    }

    /// <summary>
    /// Points a service at the local backend: AWS endpoints, region and local credentials, the bucket and table
    /// names and the Cognito issuer and client from the provisioned template, and the secret that authenticates
    /// the local S3's object events. The service starts once provisioning has completed.
    /// </summary>
    public static IResourceBuilder<T> WithLocalAws<T>(this IResourceBuilder<T> service, LocalAwsBackend backend)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(backend);
        var provisioning = backend.Provisioning.Resource;
        return service
            .WithEnvironment("AWS_REGION", backend.Options.Region)
            .WithEnvironment("AWS_ACCESS_KEY_ID", backend.AccessKeyId)
            .WithEnvironment("AWS_SECRET_ACCESS_KEY", backend.SecretAccessKey)
            .WithEnvironment("AWS_ENDPOINT_URL_S3", backend.S3Endpoint)
            .WithEnvironment("AWS_ENDPOINT_URL_DYNAMODB", backend.DynamoDbEndpoint)
            .WithEnvironment("Storage__OriginalsBucket", provisioning.Output("OriginalsBucketName"))
            .WithEnvironment("Storage__RenditionsBucket", provisioning.Output("RenditionsBucketName"))
            .WithEnvironment("Storage__Table", provisioning.Output("ImagesTableName"))
            .WithEnvironment("Auth__Issuer", backend.Issuer)
            .WithEnvironment("Auth__ClientId", backend.ClientId)
            // The local issuer is plain http; production configuration leaves this on.
            .WithEnvironment("Auth__RequireHttpsMetadata", "false")
            .WithEnvironment("S3Events__Secret", backend.S3EventSecret)
            .WithEnvironment("MALLOC_ARENA_MAX", "2")
            .WaitForCompletion(backend.Provisioning);
    }

    /// <summary>
    /// Makes the local S3 deliver object-created events to <paramref name="path"/> of <paramref name="service"/>,
    /// standing in for the S3 → Lambda notification of the template (embedded backend only).
    /// </summary>
    public static LocalAwsBackend WithS3EventWebhook<T>(this LocalAwsBackend backend, IResourceBuilder<T> service, string path)
        where T : IResourceWithEndpoints
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(service);
        if (backend.Options.Backend == LocalAwsBackendKind.Embedded)
        {
            backend.S3Host
                .WithEnvironment("S3_EVENT_WEBHOOK_URL", ReferenceExpression.Create($"{service.GetEndpoint("http")}{path}"))
                // The template's notification is on the originals bucket only.
                .WithEnvironment("S3_EVENT_BUCKETS", backend.OriginalsBucketName);
        }

        return backend;
    }

    private static async Task ProvisionAsync(InitializeResourceEvent e, LocalAwsBackend backend, ProvisioningResource resource, string localDirectory, CancellationToken cancellationToken)
    {
        var logger = e.Logger;
        try
        {
            await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Waiting });
            await e.Notifications.WaitForDependenciesAsync(resource, cancellationToken);
            await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Running, StartTimeStamp = DateTime.UtcNow });

            var credentials = new BasicAWSCredentials(backend.AccessKeyId, backend.SecretAccessKey);
            using var s3 = new AmazonS3Client(credentials, new AmazonS3Config
            {
                ServiceURL = await backend.S3Endpoint.GetValueAsync(cancellationToken),
                ForcePathStyle = true,
                AuthenticationRegion = backend.Options.Region,
            });
            using var dynamoDb = new AmazonDynamoDBClient(credentials, new AmazonDynamoDBConfig
            {
                ServiceURL = await backend.DynamoDbEndpoint.GetValueAsync(cancellationToken),
                AuthenticationRegion = backend.Options.Region,
            });
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var cognitoUrl = await backend.CognitoEndpoint.GetValueAsync(cancellationToken);
            var cognito = new CognitoClient(http, new Uri(cognitoUrl!));
            var provisioner = new LocalAwsProvisioner(s3, dynamoDb, cognito, logger);

            var environment = await provisioner.ProvisionAsync(backend.Template, TemplateParameters(backend.Options), backend.Options.SiteOrigins, cancellationToken);
            await provisioner.SeedSettingsAsync(environment["ImagesTableName"], await File.ReadAllTextAsync(Path.Combine(localDirectory, "seed", "settings.json"), cancellationToken), cancellationToken);
            await provisioner.SeedUserAsync(environment["UserPoolId"], LocalAwsBackend.DemoUser, cancellationToken);
            await provisioner.SeedUserAsync(environment["UserPoolId"], LocalAwsBackend.AdminUser, cancellationToken);

            resource.Complete(environment);
            await e.Notifications.PublishUpdateAsync(resource, s => s with
            {
                State = KnownResourceStates.Finished,
                ExitCode = 0,
                StopTimeStamp = DateTime.UtcNow,
                Properties = [.. s.Properties, .. environment.Outputs.Select(o => new ResourcePropertySnapshot(o.Key, o.Value))],
            });
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Provisioning the local AWS backend failed");
            resource.Fail(ex);
            await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Exited, ExitCode = 1, StopTimeStamp = DateTime.UtcNow });
        }
    }

    private static Dictionary<string, string> TemplateParameters(LocalAwsOptions options) => new() { ["Stage"] = options.Stage };

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A process still holding a file keeps the folder; it is under the temp folder.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
