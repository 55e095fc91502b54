namespace ImageAspire.AppHost.LocalAws;

/// <summary>Runs a project as a Lambda function behind the local Lambda and HTTP API emulator.</summary>
public static class LocalLambdaExtensions
{
    /// <summary>
    /// Adds the local Lambda service (<c>Infra/Local/Lambda</c>): the Runtime API that <paramref name="function"/>
    /// polls (it gets <c>AWS_LAMBDA_RUNTIME_API</c> and so serves invocations instead of listening), an HTTP API
    /// front with the Cognito JWT authorizer on <c>/api/*</c>, and delivery of the local S3's object events.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddLocalLambda(
        this IDistributedApplicationBuilder builder, string name, LocalAwsBackend backend, IResourceBuilder<ProjectResource> function)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(function);
        var lambda = builder.AddProject<Projects.LocalLambda>(name)
            .WithEnvironment("Auth__Issuer", backend.Issuer)
            .WithEnvironment("Auth__ClientId", backend.ClientId)
            .WithEnvironment("S3Events__Secret", backend.S3EventSecret)
            .WithHttpHealthCheck("/health")
            .WaitForCompletion(backend.Provisioning);

        function
            .WithEnvironment("AWS_LAMBDA_RUNTIME_API", lambda.GetEndpoint("http").Property(EndpointProperty.HostAndPort))
            .WithEnvironment("AWS_LAMBDA_FUNCTION_NAME", "imageaspire-local-images")
            .WithEnvironment("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1536")
            .WaitFor(lambda);
        backend.WithS3EventWebhook(lambda, "/_local/s3-events");
        return lambda;
    }
}
