using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>
/// Applies the template to the local backend once the emulators are healthy, then finishes; services wait for it to
/// complete and get the template's resolved outputs in their environment.
/// </summary>
public sealed class ProvisioningResource(string name) : Resource(name), IResourceWithWaitSupport
{
    private readonly TaskCompletionSource<ProvisionedEnvironment> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The provisioned environment, once provisioning has run.</summary>
    public Task<ProvisionedEnvironment> Result => _result.Task;

    internal void Complete(ProvisionedEnvironment environment) => _result.TrySetResult(environment);

    internal void Fail(Exception exception) => _result.TrySetException(exception);

    /// <summary>A value of the provisioned environment (a template output), for environment variables.</summary>
    public ProvisionedOutputReference Output(string outputName) => new(this, outputName);

    /// <summary>An environment variable of a template's Lambda function, resolved once provisioning has run.</summary>
    public ProvisionedFunctionVariableReference FunctionVariable(string functionLogicalId, string variable) => new(this, functionLogicalId, variable);
}

/// <summary>
/// One environment variable the template gives a Lambda function, resolved against the local backend. It references the
/// provisioning resource, so a service given it depends on provisioning in the model (dashboard, publish).
/// </summary>
public sealed class ProvisionedFunctionVariableReference(ProvisioningResource resource, string functionLogicalId, string variable)
    : IValueProvider, IManifestExpressionProvider, IValueWithReferences
{
    /// <inheritdoc />
    public IEnumerable<object> References => [resource];

    /// <inheritdoc />
    public string ValueExpression => $"{{{resource.Name}.functions.{functionLogicalId}.{variable}}}";

    /// <inheritdoc />
    public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default)
    {
        var environment = await resource.Result.WaitAsync(cancellationToken);
        return environment.FunctionVariables.TryGetValue(functionLogicalId, out var variables) && variables.TryGetValue(variable, out var value)
            ? value
            : throw new InvalidOperationException(
                $"{functionLogicalId}'s environment variable {variable} has no local value (the provisioning log says why); " +
                "leave it out of WithFunctionEnvironment and give the local service its own value.");
    }
}

/// <summary>
/// One output of the provisioned local environment (as Aspire.Hosting.AWS's <c>StackOutputReference</c> is of a deployed
/// stack), resolved once provisioning has run. It references the provisioning resource, so a service given it depends
/// on provisioning in the model.
/// </summary>
public sealed class ProvisionedOutputReference(ProvisioningResource resource, string outputName)
    : IValueProvider, IManifestExpressionProvider, IValueWithReferences
{
    /// <inheritdoc />
    public IEnumerable<object> References => [resource];

    /// <inheritdoc />
    public string ValueExpression => $"{{{resource.Name}.outputs.{outputName}}}";

    /// <inheritdoc />
    public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default)
    {
        var environment = await resource.Result.WaitAsync(cancellationToken);
        return environment[outputName];
    }
}

/// <summary>The provisioning step's life: wait for the emulators, apply the template, seed users, report the outputs.</summary>
internal sealed class ProvisioningRun(LocalAwsBackend backend, IReadOnlyList<string> siteOrigins, IReadOnlyList<SeedUser> users)
{
    public async Task ExecuteAsync(InitializeResourceEvent e, CancellationToken cancellationToken)
    {
        var resource = backend.Provisioning.Resource;
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
            var cognito = new CognitoClient(http, new Uri((await backend.CognitoEndpoint.GetValueAsync(cancellationToken))!));
            var provisioner = new LocalAwsProvisioner(s3, dynamoDb, cognito, e.Logger);

            var environment = await provisioner.ProvisionAsync(backend.Template, backend.TemplateContext(), siteOrigins, users, cancellationToken);

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
            e.Logger.LogError(ex, "Provisioning the local AWS backend failed");
            resource.Fail(ex);
            await e.Notifications.PublishUpdateAsync(resource, s => s with { State = KnownResourceStates.Exited, ExitCode = 1, StopTimeStamp = DateTime.UtcNow });
        }
    }
}
