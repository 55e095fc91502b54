using ImageAspire.Infra.Provisioning;

namespace ImageAspire.AppHost.LocalAws;

/// <summary>
/// Applies <c>Infra/Deploy/template.yaml</c> to the local backend once the emulators are healthy, then finishes;
/// the service waits for it to complete and gets the resolved names and ids in its environment.
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
}

/// <summary>One output of the provisioned local environment, resolved once provisioning has run.</summary>
public sealed class ProvisionedOutputReference(ProvisioningResource resource, string outputName)
    : IValueProvider, IManifestExpressionProvider
{
    /// <inheritdoc />
    public string ValueExpression => $"{{{resource.Name}.outputs.{outputName}}}";

    /// <inheritdoc />
    public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default)
    {
        var environment = await resource.Result.WaitAsync(cancellationToken);
        return environment[outputName];
    }
}
