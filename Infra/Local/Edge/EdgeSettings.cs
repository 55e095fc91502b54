namespace ImageAspire.LocalEdge;

public sealed class EdgeSettings
{
    /// <summary>The CloudFormation template whose distribution the edge plays.</summary>
    public string Template { get; set; } = string.Empty;

    public string Stage { get; set; } = "local";

    /// <summary>The published web app's wwwroot (what the deploy script uploads to the web bucket).</summary>
    public string WebRoot { get; set; } = string.Empty;

    /// <summary>Origin id → base URL of what plays it locally (api → the service or the local HTTP API, media → the local S3).</summary>
    public Dictionary<string, string> Origins { get; set; } = [];

    /// <summary>The renditions bucket (the media origin is a bucket; locally S3 is path-style).</summary>
    public string MediaBucket { get; set; } = string.Empty;

    /// <summary>Key pair id → public key (PEM) of the trusted key group, for behaviors that require signed access.</summary>
    public Dictionary<string, string> TrustedKeys { get; set; } = [];

    /// <summary>Extra CSP connect-src sources: the local Cognito and S3, which stand in for AWS's hosts.</summary>
    public string ConnectSources { get; set; } = string.Empty;
}
