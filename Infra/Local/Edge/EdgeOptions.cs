using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ImageAspire.LocalEdge;

/// <summary>The local edge's configuration (section <c>Edge</c>), which <c>AddLocalEdge</c> sets from the AppHost.</summary>
public sealed class EdgeOptions
{
    public const string SectionName = "Edge";

    /// <summary>The CloudFormation template whose distribution the edge plays.</summary>
    [Required]
    public string Template { get; set; } = string.Empty;

    public string Stage { get; set; } = "local";

    /// <summary>The published web app's wwwroot (what the deploy script uploads to the web bucket).</summary>
    [Required]
    public string WebRoot { get; set; } = string.Empty;

    /// <summary>Origin id → base URL of what plays it locally (api → the service or the local HTTP API, media → the local S3).</summary>
    public Dictionary<string, string> Origins { get; set; } = [];

    /// <summary>The renditions bucket (the media origin is a bucket; locally S3 is path-style).</summary>
    [Required]
    public string MediaBucket { get; set; } = string.Empty;

    /// <summary>Key pair id → public key (PEM) of the trusted key group, for behaviors that require signed access.</summary>
    public Dictionary<string, string> TrustedKeys { get; set; } = [];

    /// <summary>Extra CSP connect-src sources: the local Cognito and S3, which stand in for AWS's hosts.</summary>
    public string ConnectSources { get; set; } = string.Empty;
}

/// <summary>Validates <see cref="EdgeOptions"/> from its attributes (generated at compile time).</summary>
[OptionsValidator]
public sealed partial class EdgeOptionsValidator : IValidateOptions<EdgeOptions>;
