using System.Reflection;
using System.Security.Cryptography;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.LocalAws.Templates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>Adds a Docker-free local AWS backend, provisioned from a CloudFormation template, and wires services to it.</summary>
public static class LocalAwsExtensions
{
    /// <summary>
    /// Adds the local AWS backend chosen by the <c>LocalAws</c> configuration section (<see cref="LocalAwsOptions"/>):
    /// an <c>npm-ci</c> step, the S3/DynamoDB/Cognito emulators (or LocalStack for S3 and DynamoDB) with health checks,
    /// and a <c>provisioning</c> step that applies <paramref name="templatePath"/> (buckets, tables, user pool, client,
    /// groups) and creates <paramref name="users"/>.
    /// </summary>
    /// <param name="builder">The AppHost builder.</param>
    /// <param name="templatePath">The CloudFormation template that deploys the same resources to AWS.</param>
    /// <param name="siteOrigins">The origins the browser uses locally: they replace the template's CORS origins.</param>
    /// <param name="users">Users to create, for trying the app and for tests.</param>
    public static LocalAwsBackend AddLocalAws(
        this IDistributedApplicationBuilder builder, string templatePath, IReadOnlyList<string> siteOrigins, params SeedUser[] users)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(siteOrigins);
        var options = builder.Configuration.GetSection("LocalAws").Get<LocalAwsOptions>() ?? new LocalAwsOptions();
        var dataDirectory = DataDirectory(builder, options);
        var template = CloudFormationTemplate.Load(templatePath);

        var npm = builder.AddExecutable("npm-ci", "node", EmulatorsDirectory, "install-once.js")
            .WithEnvironment("npm_config_update_notifier", "false");
        var emulators = options.Backend == LocalAwsBackendKind.LocalStack
            ? AddLocalStack(builder, options, dataDirectory, AddCognito(builder, npm, dataDirectory))
            : AddNodeEmulators(builder, npm, dataDirectory, AddCognito(builder, npm, dataDirectory));

        var provisioning = builder.AddResource(new ProvisioningResource("provisioning"))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Provisioning",
                State = KnownResourceStates.NotStarted,
                Properties = [new("template", templatePath)],
            });
        foreach (var resource in emulators.Resources)
        {
            provisioning.WaitFor(resource);
        }

        var backend = new LocalAwsBackend(options, dataDirectory, templatePath, template, emulators, provisioning);
        var provisioningRun = new ProvisioningRun(backend, siteOrigins, users);
        builder.Eventing.Subscribe<InitializeResourceEvent>(provisioning.Resource, (e, ct) =>
        {
            var stopping = e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = Task.Run(() => provisioningRun.ExecuteAsync(e, stopping), stopping);
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
    /// Points a service at the local backend with the SDK's standard variables (region, local credentials,
    /// <c>AWS_ENDPOINT_URL_S3</c>/<c>_DYNAMODB</c>); the service starts once provisioning has completed.
    /// What the service reads from the template's outputs is added with <see cref="LocalAwsBackend.Output"/>.
    /// </summary>
    public static IResourceBuilder<T> WithLocalAws<T>(this IResourceBuilder<T> service, LocalAwsBackend backend)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(backend);
        return service
            .WithEnvironment("AWS_REGION", backend.Options.Region)
            .WithEnvironment("AWS_ACCESS_KEY_ID", backend.AccessKeyId)
            .WithEnvironment("AWS_SECRET_ACCESS_KEY", backend.SecretAccessKey)
            .WithEnvironment("AWS_ENDPOINT_URL_S3", backend.S3Endpoint)
            .WithEnvironment("AWS_ENDPOINT_URL_DYNAMODB", backend.DynamoDbEndpoint)
            .WaitForCompletion(backend.Provisioning);
    }

    /// <summary>
    /// Gives a service the environment variables the template gives the Lambda function <paramref name="functionLogicalId"/>
    /// (<c>Environment.Variables</c>), each resolved against the local backend once provisioning has run, so a variable
    /// added to the template reaches the local service by itself. Variables the local run replaces or must not have
    /// (an AWS-only endpoint, a secret's SSM parameter) are named in <paramref name="except"/>; a variable that names
    /// something the local backend does not create fails the service's start with a message naming it.
    /// </summary>
    public static IResourceBuilder<T> WithFunctionEnvironment<T>(
        this IResourceBuilder<T> service, LocalAwsBackend backend, string functionLogicalId, params IEnumerable<string> except)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(backend);
        var function = backend.Template.ResourcesOfType("AWS::Lambda::Function").SingleOrDefault(r => r.LogicalId == functionLogicalId)
            ?? throw new TemplateException($"The template has no AWS::Lambda::Function {functionLogicalId}.");
        var excluded = except.ToHashSet(StringComparer.Ordinal);
        foreach (var (name, _) in function.Properties["Environment"]?["Variables"] as System.Text.Json.Nodes.JsonObject ?? [])
        {
            if (!excluded.Contains(name))
            {
                service.WithEnvironment(name, backend.Provisioning.Resource.FunctionVariable(functionLogicalId, name));
            }
        }

        return service.WaitForCompletion(backend.Provisioning);
    }

    /// <summary>
    /// Makes the local S3 deliver object-created events of the template's notifying buckets to <paramref name="path"/>
    /// of <paramref name="service"/> (standing in for S3 → Lambda notifications; embedded backend only). Each event
    /// carries <see cref="LocalAwsBackend.S3EventSecret"/> in <see cref="LocalAwsBackend.S3EventSecretHeader"/>.
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
                .WithEnvironment("S3_EVENT_BUCKETS", string.Join(',', backend.NotifyingBucketNames()));
        }

        return backend;
    }

    /// <summary>Gives a receiver of the local S3's object events the header and secret to check.</summary>
    public static IResourceBuilder<T> WithS3EventSecret<T>(this IResourceBuilder<T> receiver, LocalAwsBackend backend)
        where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(backend);
        return receiver
            .WithEnvironment("S3Events__Secret", backend.S3EventSecret)
            .WithEnvironment("S3Events__SecretHeader", LocalAwsBackend.S3EventSecretHeader);
    }

    /// <summary>
    /// Gives a service the media secrets, which in AWS it reads from SSM: the private half of the backend's media key
    /// pair (<c>Media__KeyPairId</c>, <c>Media__PrivateKey</c>; the local edge trusts the public half) and the key of
    /// opaque media keys (<c>Media__PathKey</c>).
    /// </summary>
    public static IResourceBuilder<T> WithMediaKeys<T>(this IResourceBuilder<T> service, LocalAwsBackend backend)
        where T : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(backend);
        return service
            .WithEnvironment("Media__KeyPairId", backend.MediaKeyPair.KeyPairId)
            .WithEnvironment("Media__PrivateKey", backend.MediaKeyPair.PrivateKeyPem)
            .WithEnvironment("Media__PathKey", backend.MediaPathKey);
    }

    private static string EmulatorsDirectory => BuildMetadata("LocalAws.Emulators");

    internal static string BuildMetadata(string key) =>
        typeof(LocalAwsExtensions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"The build did not record {key}.");

    private static IResourceBuilder<ExecutableResource> AddCognito(
        IDistributedApplicationBuilder builder, IResourceBuilder<ExecutableResource> npm, string dataDirectory)
    {
        var cognito = builder.AddExecutable("cognito", "node", EmulatorsDirectory, "cognito.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("COGNITO_DATA_DIR", Path.Combine(dataDirectory, "cognito"))
            .WithEnvironment("COGNITO_CONFIRMATION_CODE", LocalAwsBackend.ConfirmationCode)
            .WithHttpHealthCheck("/health")
            .WaitForCompletion(npm);
        return cognito.WithEnvironment("COGNITO_ISSUER_DOMAIN", cognito.GetEndpoint("http"));
    }

    private static LocalAwsEmulators AddNodeEmulators(
        IDistributedApplicationBuilder builder, IResourceBuilder<ExecutableResource> npm, string dataDirectory, IResourceBuilder<ExecutableResource> cognito)
    {
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var s3 = builder.AddExecutable("s3", "node", EmulatorsDirectory, "--openssl-legacy-provider", "s3.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("S3_DATA_DIR", Path.Combine(dataDirectory, "s3"))
            .WithEnvironment("S3_EVENT_WEBHOOK_SECRET", secret)
            .WithEnvironment("S3_EVENT_WEBHOOK_HEADER", LocalAwsBackend.S3EventSecretHeader)
            .WithHttpHealthCheck("/")
            .WaitForCompletion(npm);
        var dynamodb = builder.AddExecutable("dynamodb", "node", EmulatorsDirectory, "dynamodb.js")
            .WithHttpEndpoint(env: "PORT", name: "http")
            .WithEnvironment("DYNAMODB_DATA_DIR", Path.Combine(dataDirectory, "dynamodb"))
            .WithHttpHealthCheck("/")
            .WaitForCompletion(npm);
        return new LocalAwsEmulators(s3.GetEndpoint("http"), dynamodb.GetEndpoint("http"), cognito.GetEndpoint("http"), s3, secret,
            [s3, dynamodb, cognito]);
    }

    private static LocalAwsEmulators AddLocalStack(
        IDistributedApplicationBuilder builder, LocalAwsOptions options, string dataDirectory, IResourceBuilder<ExecutableResource> cognito)
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
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        return new LocalAwsEmulators(localstack.GetEndpoint("http"), localstack.GetEndpoint("http"), cognito.GetEndpoint("http"), localstack, secret,
            [localstack, cognito]);
    }

    private static string DataDirectory(IDistributedApplicationBuilder builder, LocalAwsOptions options)
    {
        var directory = !string.IsNullOrWhiteSpace(options.DataDirectory)
            ? Path.GetFullPath(options.DataDirectory)
            : options.KeepData
                ? Path.Combine(builder.AppHostDirectory, ".data")
                : Path.Combine(Path.GetTempPath(), "localaws", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(directory);
        return directory;
    }

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
