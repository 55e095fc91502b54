using System.Reflection;
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

        var emulators = LocalAwsEmulators.Add(builder, options, dataDirectory);

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
        // The data folder is made when the first emulator starts, not while the model is built: building, inspecting or
        // publishing a model (tests, aspire publish) touches no file.
        foreach (var emulator in emulators.Resources)
        {
            builder.Eventing.Subscribe<BeforeResourceStartedEvent>(emulator.Resource, (_, _) =>
            {
                Directory.CreateDirectory(dataDirectory);
                backend.Started = true;
                return Task.CompletedTask;
            });
        }
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
    /// <c>AWS_ENDPOINT_URL_S3</c>/<c>_DYNAMODB</c>/<c>_REKOGNITION</c>); the service starts once provisioning has completed
    /// (not once the local Rekognition's models are loaded: a service must not wait for them).
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
            .WithEnvironment("AWS_ENDPOINT_URL_REKOGNITION", backend.RekognitionEndpoint)
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
        var excluded = except.ToHashSet(StringComparer.Ordinal);
        foreach (var (name, _) in backend.Template.Resource("AWS::Lambda::Function", functionLogicalId).FunctionVariables)
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
            .WithEnvironment(context =>
            {
                // The path key lives in the data folder (kept data keeps its media keys); it is read or made only when
                // the service really starts, so publishing or inspecting the model writes nothing.
                if (backend.Started)
                {
                    context.EnvironmentVariables["Media__PathKey"] = backend.MediaPathKey;
                }
            });
    }

    internal static string BuildMetadata(string key) =>
        typeof(LocalAwsExtensions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"The build did not record {key}.");

    private static string DataDirectory(IDistributedApplicationBuilder builder, LocalAwsOptions options)
    {
        var directory = !string.IsNullOrWhiteSpace(options.DataDirectory)
            ? Path.GetFullPath(options.DataDirectory)
            : options.KeepData
                ? Path.Combine(builder.AppHostDirectory, ".data")
                : Path.Combine(Path.GetTempPath(), "localaws", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..24]);
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
