using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace ImageAspire.LocalEdge;

/// <summary>The template's cache behaviors as YARP routes; the default behavior (the web bucket) is served from disk.</summary>
public static class EdgeProxy
{
    public static IReadOnlyList<RouteConfig> Routes(EdgeDefinition definition) =>
        definition.Behaviors.Select((behavior, index) => new RouteConfig
        {
            RouteId = behavior.OriginId,
            ClusterId = behavior.OriginId,
            Order = index,
            // CloudFront's "/api/*" is a prefix match; YARP's catch-all segment says the same.
            Match = new RouteMatch { Path = behavior.PathPattern.EndsWith("/*", StringComparison.Ordinal) ? behavior.PathPattern[..^1] + "{**rest}" : behavior.PathPattern },
        }).ToList();

    public static IReadOnlyList<ClusterConfig> Clusters(EdgeOptions settings) =>
        settings.Origins.Select(origin => new ClusterConfig
        {
            ClusterId = origin.Key,
            Destinations = new Dictionary<string, DestinationConfig> { ["local"] = new() { Address = origin.Value } },
        }).ToList();

    public static void AddTransforms(TransformBuilderContext context, EdgeDefinition definition, EdgeOptions settings)
    {
        // Only the media origin is rewritten; the API origin takes requests as they come.
        if (context.Route.ClusterId != "media")
        {
            return;
        }

        var originPath = definition.OriginPaths.GetValueOrDefault("media", string.Empty);
        // The media origin: the template's viewer-request function strips "/media", the origin path adds
        // "/renditions", and the bucket comes first because the local S3 is addressed path-style.
        context.AddPathRemovePrefix("/media");
        context.AddPathPrefix($"/{settings.MediaBucket}{originPath}");
        context.AddRequestHeaderRemove("Authorization");
        context.AddRequestHeaderRemove("Cookie");
    }
}
