using System.Globalization;
using System.Text.Json.Nodes;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.LocalAws.Templates;

namespace Aspire.Hosting;

/// <summary>Runs a project as a Lambda function behind the local Lambda and HTTP API service.</summary>
public static class LocalLambdaExtensions
{
    /// <summary>
    /// Adds the local Lambda service (from the package, or <c>Infra/Local/Lambda</c> in this repository): the Runtime API that <paramref name="function"/> polls
    /// (it gets <c>AWS_LAMBDA_RUNTIME_API</c> and so serves invocations instead of listening), an HTTP API front with the
    /// Cognito JWT authorizer of <paramref name="issuer"/> and <paramref name="clientId"/> on <c>/api/*</c>, and delivery
    /// of the local S3's object events as S3 notifications. The function's name, memory size and timeout are those of
    /// the template's <c>AWS::Lambda::Function</c> <paramref name="functionLogicalId"/>; its asynchronous retries, maximum
    /// event age and on-failure bucket those of the template's <c>AWS::Lambda::EventInvokeConfig</c> for it.
    /// </summary>
    public static IResourceBuilder<IResourceWithEndpoints> AddLocalLambda<TFunction>(
        this IDistributedApplicationBuilder builder, string name, LocalAwsBackend backend, IResourceBuilder<TFunction> function,
        string functionLogicalId, ReferenceExpression issuer, ProvisionedOutputReference clientId)
        where TFunction : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(function);
        var definition = backend.Template.Resource("AWS::Lambda::Function", functionLogicalId);
        var context = backend.TemplateContext();
        // A property of the function, by its path ("LoggingConfig", "LogFormat"); null where the template sets none.
        string? Value(params string[] path) =>
            TemplateFunctions.Resolve(path.Aggregate((JsonNode?)definition.Properties, (node, name) => node?[name]), context)?.ToString();
        string Property(string property, string fallback) => Value(property) ?? fallback;
        var functionName = Property("FunctionName", functionLogicalId);
        var timeoutSeconds = int.Parse(Property("Timeout", "3"), CultureInfo.InvariantCulture);

        // From the package, the prebuilt service run with dotnet; in this repository, its project.
        var assets = LocalAwsAssets.Of(builder);
        IResourceBuilder<IResourceWithEndpoints> lambda = assets.FromPackage
            ? Configure(builder.AddPackagedService(name, assets, "lambda", "ImageAspire.LocalLambda"))
            : Configure(builder.AddProject(name, LocalAwsExtensions.BuildMetadata("LocalAws.LocalLambdaProject")));

        IResourceBuilder<T> Configure<T>(IResourceBuilder<T> service) where T : IResourceWithEnvironment, IResourceWithEndpoints, IResourceWithWaitSupport =>
            service
                .WithEnvironment("Lambda__FunctionArn", $"arn:aws:lambda:{context.Region}:{context.AccountId}:function:{functionName}")
                .WithEnvironment("Lambda__TimeoutSeconds", timeoutSeconds.ToString(CultureInfo.InvariantCulture))
                .WithAsyncInvokeConfig(backend, functionLogicalId)
                .WithHttpApiRoute(backend, functionLogicalId)
                .WithLocalAws(backend)
                .WithEnvironment("Auth__Issuer", issuer)
                .WithEnvironment("Auth__ClientId", clientId)
                .WithS3EventSecret(backend)
                .WithHttpHealthCheck("/health")
                .WaitForCompletion(backend.Provisioning);

        // As Lambda tells the runtime its LoggingConfig (the function's own variables come with WithFunctionEnvironment).
        foreach (var (variable, path) in new[]
        {
            ("AWS_LAMBDA_LOG_FORMAT", new[] { "LoggingConfig", "LogFormat" }),
            ("AWS_LAMBDA_LOG_LEVEL", ["LoggingConfig", "ApplicationLogLevel"]),
        })
        {
            if (Value(path) is { } value)
            {
                function.WithEnvironment(variable, value);
            }
        }

        function
            .WithEnvironment("AWS_LAMBDA_RUNTIME_API", lambda.GetEndpoint("http").Property(EndpointProperty.HostAndPort))
            .WithEnvironment("AWS_LAMBDA_FUNCTION_NAME", functionName)
            .WithEnvironment("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Property("MemorySize", "128"))
            .WaitFor(lambda);
        backend.WithS3EventWebhook(lambda, "/_local/s3-events"); // S3EventIntake.Path of the local Lambda service
        return lambda;
    }

    // The route whose integration targets the function (!GetAtt <function>.Arn), and the API's stage.
    private static IResourceBuilder<T> WithHttpApiRoute<T>(this IResourceBuilder<T> lambda, LocalAwsBackend backend, string functionLogicalId)
        where T : IResourceWithEnvironment
    {
        var template = backend.Template;
        var integrations = template.ResourcesOfType("AWS::ApiGatewayV2::Integration")
            .Where(i => i.Properties["IntegrationUri"]?["Fn::GetAtt"] is JsonArray { Count: 2 } target && (string?)target[0] == functionLogicalId)
            .Select(i => i.LogicalId)
            .ToHashSet(StringComparer.Ordinal);
        var route = template.ResourcesOfType("AWS::ApiGatewayV2::Route")
            .Where(r => (string?)r.Properties["Target"]?["Fn::Sub"] is { } target && integrations.Any(i => target == $"integrations/${{{i}}}"))
            .ToList();
        if (route.Count != 1)
        {
            throw new TemplateException($"The local HTTP API serves one AWS::ApiGatewayV2::Route to {functionLogicalId}; the template has {route.Count}.");
        }

        var apiId = route[0].Properties["ApiId"]?.ToJsonString();
        var stage = template.ResourcesOfType("AWS::ApiGatewayV2::Stage").FirstOrDefault(s => s.Properties["ApiId"]?.ToJsonString() == apiId);
        var context = backend.TemplateContext();
        return lambda
            .WithEnvironment("HttpApi__RouteKey", TemplateFunctions.Resolve(route[0].Properties["RouteKey"], context)?.ToString() ?? string.Empty)
            .WithEnvironment("HttpApi__Stage", stage is null ? "$default" : TemplateFunctions.Resolve(stage.Properties["StageName"], context)?.ToString() ?? "$default");
    }

    // Lambda's defaults where the template's EventInvokeConfig (or the property) is absent: two retries, six hours.
    private static IResourceBuilder<T> WithAsyncInvokeConfig<T>(this IResourceBuilder<T> lambda, LocalAwsBackend backend, string functionLogicalId)
        where T : IResourceWithEnvironment
    {
        var config = backend.Template.ResourcesOfType("AWS::Lambda::EventInvokeConfig")
            .SingleOrDefault(r => r.Properties["FunctionName"] is JsonObject reference && (string?)reference["Ref"] == functionLogicalId);
        if (config is null)
        {
            return lambda;
        }

        var context = backend.TemplateContext();
        lambda
            .WithEnvironment("Lambda__Async__MaximumRetryAttempts", TemplateFunctions.Resolve(config.Properties["MaximumRetryAttempts"], context)?.ToString() ?? "2")
            .WithEnvironment("Lambda__Async__MaximumEventAgeSeconds", TemplateFunctions.Resolve(config.Properties["MaximumEventAgeInSeconds"], context)?.ToString() ?? "21600");
        // An S3 bucket of the template as the on-failure destination: !GetAtt <bucket>.Arn.
        if (config.Properties["DestinationConfig"]?["OnFailure"]?["Destination"]?["Fn::GetAtt"] is JsonArray { Count: 2 } getAtt
            && (string?)getAtt[1] == "Arn"
            && (string?)getAtt[0] is { } target
            && backend.Template.ResourcesOfType("AWS::S3::Bucket").Any(b => b.LogicalId == target))
        {
            lambda.WithEnvironment("Lambda__Async__OnFailureBucket", backend.BucketName(target));
        }

        return lambda;
    }
}
