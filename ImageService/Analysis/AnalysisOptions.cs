using System.ComponentModel.DataAnnotations;
using ImageAspire.ImageService.Extensions;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Analysis;

/// <summary>Image analysis with Amazon Rekognition (configuration <c>Analysis</c>; the stack's <c>ImageAnalysis</c> parameter sets <see cref="Enabled"/>).</summary>
public sealed class AnalysisOptions
{
    public const string SectionName = "Analysis";

    /// <summary>Analyse every processed image (Rekognition bills each call; off: every image reads <c>Off</c>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Labels below this confidence are not kept (Rekognition's own default).</summary>
    [Range(0, 100)]
    public double LabelMinConfidence { get; set; } = 55;

    /// <summary>Moderation labels at or above this confidence mark the image sensitive (as AWS's Dynamic Image Transformation does).</summary>
    [Range(0, 100)]
    public double ModerationMinConfidence { get; set; } = 75;

    /// <summary>
    /// The three calls together, run beside the renditions' storage: a slower answer leaves the image <c>Ready</c> with
    /// its analysis <c>Failed</c>, to be retried, instead of holding the upload.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:00:20")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}

[OptionsValidator]
public sealed partial class AnalysisOptionsValidator : IValidateOptions<AnalysisOptions>;
