using System.Security.Cryptography;
using Aspire.Hosting;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>
/// The processes that stand in for AWS: an <c>npm-ci</c> step that installs the pinned emulators, then S3 (s3rver behind
/// its launcher) and DynamoDB (dynalite) as Node processes, or the LocalStack container for both; Cognito is always
/// cognito-local, and Rekognition always the local one (LocalStack has none). <c>AddLocalAws</c> adds them and
/// provisions them from the template.
/// </summary>
internal sealed record LocalAwsEmulators(
    EndpointReference S3Endpoint,
    EndpointReference DynamoDbEndpoint,
    EndpointReference CognitoEndpoint,
    EndpointReference RekognitionEndpoint,
    IResourceBuilder<IResourceWithEnvironment> S3Host,
    string S3EventSecret,
    IReadOnlyList<IResourceBuilder<IResource>> Resources)
{
    /// <summary>Adds the backend's processes; the S3 event secret is made here, once, for the sender and its receivers.</summary>
    public static LocalAwsEmulators Add(IDistributedApplicationBuilder builder, LocalAwsOptions options, string dataDirectory)
    {
        var assets = LocalAwsAssets.Of(builder);
        var emulators = assets.EmulatorsDirectory;
        var npm = builder.AddExecutable("npm-ci", "node", emulators, "install-once.js")
            .WithEnvironment("npm_config_update_notifier", "false");
        // The package's launchers are copied where they run just before the install, not while the model is built.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(npm.Resource, (_, _) =>
        {
            assets.CopyLaunchers();
            return Task.CompletedTask;
        });
        var cognito = AddCognito(builder, npm, emulators, dataDirectory);
        var rekognition = AddRekognition(builder, npm, emulators, LocalAwsBackend.AccessKeyIdFor(options.Backend));
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        return options.Backend == LocalAwsBackendKind.LocalStack
            ? AddLocalStack(builder, options, dataDirectory, cognito, rekognition, secret)
            : AddNodeEmulators(builder, npm, emulators, dataDirectory, cognito, rekognition, secret);
    }

    // Not among the resources provisioning (and so the services) wait for: its models take seconds to load, and a
    // service must start and answer without it; the analysis of what arrives meanwhile waits or is retried.
    private static IResourceBuilder<ExecutableResource> AddRekognition(
        IDistributedApplicationBuilder builder, IResourceBuilder<ExecutableResource> npm, string emulators, string accessKeyId) =>
        builder.AddExecutable("rekognition", "node", emulators, "rekognition.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("REKOGNITION_ACCESS_KEY_ID", accessKeyId)
            .WithEnvironment("REKOGNITION_SECRET_ACCESS_KEY", accessKeyId)
            .WithHttpHealthCheck("/")
            .WaitForCompletion(npm);

    private static IResourceBuilder<ExecutableResource> AddCognito(
        IDistributedApplicationBuilder builder, IResourceBuilder<ExecutableResource> npm, string emulators, string dataDirectory)
    {
        var cognito = builder.AddExecutable("cognito", "node", emulators, "cognito.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("COGNITO_DATA_DIR", Path.Combine(dataDirectory, "cognito"))
            .WithEnvironment("COGNITO_CONFIRMATION_CODE", LocalAwsBackend.ConfirmationCode)
            .WithHttpHealthCheck("/health")
            .WaitForCompletion(npm);
        return cognito.WithEnvironment("COGNITO_ISSUER_DOMAIN", cognito.GetEndpoint("http"));
    }

    private static LocalAwsEmulators AddNodeEmulators(
        IDistributedApplicationBuilder builder, IResourceBuilder<ExecutableResource> npm, string emulators, string dataDirectory,
        IResourceBuilder<ExecutableResource> cognito, IResourceBuilder<ExecutableResource> rekognition, string secret)
    {
        var s3 = builder.AddExecutable("s3", "node", emulators, "--openssl-legacy-provider", "s3.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("S3_DATA_DIR", Path.Combine(dataDirectory, "s3"))
            .WithEnvironment("S3_EVENT_WEBHOOK_SECRET", secret)
            .WithEnvironment("S3_EVENT_WEBHOOK_HEADER", LocalAwsBackend.S3EventSecretHeader)
            .WithHttpHealthCheck("/")
            .WaitForCompletion(npm);
        var dynamodb = builder.AddExecutable("dynamodb", "node", emulators, "dynamodb.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("DYNAMODB_DATA_DIR", Path.Combine(dataDirectory, "dynamodb"))
            .WithHttpHealthCheck("/")
            .WaitForCompletion(npm);
        return new(s3.GetEndpoint("http"), dynamodb.GetEndpoint("http"), cognito.GetEndpoint("http"), rekognition.GetEndpoint("http"), s3, secret,
            [s3, dynamodb, cognito]);
    }

    private static LocalAwsEmulators AddLocalStack(
        IDistributedApplicationBuilder builder, LocalAwsOptions options, string dataDirectory, IResourceBuilder<ExecutableResource> cognito,
        IResourceBuilder<ExecutableResource> rekognition, string secret)
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

        // LocalStack sends no webhook; the secret only keeps the receivers' configuration the same.
        return new(localstack.GetEndpoint("http"), localstack.GetEndpoint("http"), cognito.GetEndpoint("http"), rekognition.GetEndpoint("http"), localstack, secret,
            [localstack, cognito]);
    }
}
