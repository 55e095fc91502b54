using ImageAspire.Hosting.LocalAws;

namespace ImageAspire.AppHost;

public static class ImageServiceEnvironment
{
    /// <summary>
    /// What the template gives the function in AWS (its <c>Environment.Variables</c>, resolved against the local backend),
    /// with the local issuer, the local backend's endpoints and keys, and the local S3 webhook's secret in place of what
    /// only AWS has.
    /// </summary>
    public static IResourceBuilder<T> WithImageServiceEnvironment<T>(this IResourceBuilder<T> service, LocalAwsBackend aws, ReferenceExpression issuer)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(aws);
        return service
            .WithLocalAws(aws)
            .WithFunctionEnvironment(aws, "ImageFunction", except:
            [
                // The local Cognito's issuer instead of cognito-idp's (below).
                "Auth__Issuer",
                // The media keys themselves instead of their SSM parameters (WithMediaKeys).
                "Media__KeyPairId", "Media__PrivateKeyParameter", "Media__PathKeyParameter",
                // X-Ray's endpoint: locally spans go to the dashboard, which also names the service.
                "Telemetry__AwsTracesEndpoint", "OTEL_SERVICE_NAME",
            ])
            .WithEnvironment("Auth__Issuer", issuer)
            // The local issuer is plain http; production configuration leaves this on.
            .WithEnvironment("Auth__RequireHttpsMetadata", "false")
            .WithMediaKeys(aws)
            .WithS3EventSecret(aws);
    }
}
