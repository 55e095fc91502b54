using ImageAspire.Hosting.LocalAws;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>A Blazor WebAssembly app behind the local CloudFront-style edge.</summary>
public static class LocalEdgeExtensions
{
    /// <summary>The port the browser uses (<c>Edge:Port</c>, default 8080).</summary>
    public static int EdgePort(IConfiguration configuration) => configuration.GetValue("Edge:Port", 8080);

    /// <summary>The edge's origin in the browser, <c>http://localhost:&lt;Edge:Port&gt;</c>.</summary>
    public static string EdgeOrigin(IConfiguration configuration) => $"http://localhost:{EdgePort(configuration)}";

    /// <summary>
    /// Publishes <paramref name="webProject"/> to <paramref name="output"/> (a <c>web-build</c> step the edge waits for)
    /// and adds the edge (from the package, or <c>Infra/Local/Edge</c> in this repository) at <see cref="EdgeOrigin"/>: the app with its SPA fallback,
    /// <c>/api/*</c> to <paramref name="api"/> and <c>/media/*</c> to the bucket <paramref name="mediaBucketLogicalId"/>,
    /// with the path patterns and security headers of the template's distribution, and the app's
    /// <c>/appsettings.json</c> (the Cognito endpoint, pool and client).
    /// </summary>
    public static IResourceBuilder<IResourceWithEndpoints> AddLocalEdge(
        this IDistributedApplicationBuilder builder, LocalAwsBackend backend, IResourceBuilder<IResourceWithEndpoints> api,
        string webProject, string output, string mediaBucketLogicalId, ProvisionedOutputReference userPoolId, ProvisionedOutputReference clientId)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(backend);
        var marker = Path.Combine(output, PublishMarker);
        var webBuild = builder.AddExecutable("web-build", "dotnet", Path.GetDirectoryName(webProject)!,
            "publish", webProject, "-c", "Release", "-o", output, "--nologo", "-v", "quiet",
            $"-p:LocalPublishMarker={marker}");
        // Just before the build runs, not while the model is built: inspecting or publishing the model changes no file.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(webBuild.Resource, (_, _) =>
        {
            PrepareWebBuild(Path.GetDirectoryName(webProject)!, output);
            return Task.CompletedTask;
        });

        // From the package, the prebuilt service run with dotnet; in this repository, its project.
        var assets = LocalAwsAssets.Of(builder);
        var port = EdgePort(builder.Configuration);
        return assets.FromPackage
            ? Configure(builder.AddPackagedService("edge", assets, "edge", "ImageAspire.LocalEdge", port))
            : Configure(builder.AddProject("edge", LocalAwsExtensions.BuildMetadata("LocalAws.LocalEdgeProject")).WithEndpoint("http", endpoint => endpoint.Port = port));

        IResourceBuilder<T> Configure<T>(IResourceBuilder<T> edge) where T : IResourceWithEnvironment, IResourceWithEndpoints, IResourceWithWaitSupport =>
            edge
                .WithEnvironment("Edge__Template", backend.TemplatePath)
                .WithEnvironment("Edge__Stage", backend.Options.Stage)
                .WithEnvironment("Edge__WebRoot", Path.Combine(output, "wwwroot"))
                .WithEnvironment("Edge__Origins__api", api.GetEndpoint("http"))
                .WithEnvironment("Edge__Origins__media", backend.S3Endpoint)
                .WithEnvironment("Edge__MediaBucket", backend.BucketName(mediaBucketLogicalId))
                .WithEnvironment($"Edge__TrustedKeys__{backend.MediaKeyPair.KeyPairId}", backend.MediaKeyPair.PublicKeyPem)
                .WithEnvironment("Edge__ConnectSources", ReferenceExpression.Create($"{backend.CognitoEndpoint} {backend.S3Endpoint}"))
                .WithEnvironment("Cognito__Endpoint", ReferenceExpression.Create($"{backend.CognitoEndpoint}/"))
                .WithEnvironment("Cognito__Region", backend.Options.Region)
                .WithEnvironment("Cognito__UserPoolId", userPoolId)
                .WithEnvironment("Cognito__ClientId", clientId)
                .WithHttpHealthCheck("/health")
                .WaitForCompletion(webBuild)
                .WaitFor(api);
    }

    private const string PublishMarker = ".publish-complete";

    /// <summary>
    /// Makes the local web build self-healing: the publish marks its end (<c>.publish-complete</c>); when the mark is
    /// missing, the last publish was interrupted (or never ran), and its compressed files, which incremental builds
    /// would keep even when empty or cut short, are removed with the output so this build makes them again. The mark is
    /// removed before this build starts, so an interruption of this one is noticed next time.
    /// </summary>
    /// <returns>The marker file the publish writes when it completes.</returns>
    public static string PrepareWebBuild(string webProjectDirectory, string output)
    {
        var marker = Path.Combine(output, PublishMarker);
        if (!File.Exists(marker))
        {
            var intermediate = Path.Combine(webProjectDirectory, "obj", "Release");
            if (Directory.Exists(intermediate))
            {
                foreach (var compressed in Directory.EnumerateDirectories(intermediate, "compressed", SearchOption.AllDirectories).ToList())
                {
                    Directory.Delete(compressed, recursive: true);
                }
            }

            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }

        else
        {
            File.Delete(marker);
        }

        return marker;
    }
}
