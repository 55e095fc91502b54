using ImageAspire.Hosting.LocalAws;

namespace ImageAspire.AppHost;

public static class ImageServiceEnvironment
{
    /// <summary>
    /// What the template gives the function in AWS, from the same template's outputs, plus the local backend's
    /// endpoints, the local S3 webhook's secret and the media keys (from SSM in AWS).
    /// </summary>
    public static IResourceBuilder<T> WithImageServiceEnvironment<T>(
        this IResourceBuilder<T> service, LocalAwsBackend aws, ReferenceExpression issuer, ProvisionedOutputReference clientId)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(aws);
        return service
            .WithLocalAws(aws)
            .WithEnvironment("Storage__OriginalsBucket", aws.Output("OriginalsBucketName"))
            .WithEnvironment("Storage__RenditionsBucket", aws.Output("RenditionsBucketName"))
            .WithEnvironment("Storage__Table", aws.Output("ImagesTableName"))
            .WithEnvironment("Storage__FailedEventsBucket", aws.Output("FailedEventsBucketName"))
            .WithEnvironment("Auth__Issuer", issuer)
            .WithEnvironment("Auth__ClientId", clientId)
            .WithEnvironment("Auth__AdminsGroup", aws.Output("AdminsGroupName"))
            // The local issuer is plain http; production configuration leaves this on.
            .WithEnvironment("Auth__RequireHttpsMetadata", "false")
            .WithEnvironment("MALLOC_ARENA_MAX", "2")
            .WithMediaKeys(aws)
            .WithS3EventSecret(aws);
    }
}
