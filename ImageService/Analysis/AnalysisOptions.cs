using ImageAspire.ImageService.Extensions;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Analysis;

/// <summary>Image analysis with Amazon Rekognition (configuration <c>Analysis</c>; the stack's <c>ImageAnalysis</c> parameter sets <see cref="Enabled"/>).</summary>
public sealed class AnalysisOptions
{
    public const string SectionName = "Analysis";

    /// <summary>
    /// The stack's switch (Rekognition bills each call): off, every image reads <c>Off</c> whatever the settings document
    /// says. The thresholds and the admins' own switch are in the settings document (<see cref="Processing.AnalysisSettings"/>).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The three calls together, run beside the renditions' storage: a slower answer leaves the image <c>Ready</c> with
    /// its analysis <c>Failed</c>, to be retried, instead of holding the upload.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:00:20")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the square (cover) renditions wait for the faces before they are cropped; a slower analysis leaves them
    /// to libvips' attention crop. It is spent while the other renditions are encoded, so it rarely adds to the answer.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:03")]
    public TimeSpan FaceWait { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// How long after a failure an analysis is tried again; doubled after each further failure, five tries in all.
    /// Missing label entries are written again after this delay too.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}

[OptionsValidator]
public sealed partial class AnalysisOptionsValidator : IValidateOptions<AnalysisOptions>;

/// <summary>The face wait comes on top of the longest wait on storage: together they must answer before API Gateway gives up.</summary>
public sealed class AnalysisDeadlineValidator(IOptions<Storage.StorageOptions> storage) : IValidateOptions<AnalysisOptions>
{
    public ValidateOptionsResult Validate(string? name, AnalysisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var worst = storage.Value.Deadlines.WorstAnswer + options.FaceWait;
        return worst < Storage.StorageDeadlines.ApiGatewayTimeout
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Analysis:FaceWait ({options.FaceWait.TotalSeconds:0.#} s) and the storage deadlines let a request wait {worst.TotalSeconds:0.#} s; API Gateway gives up at {Storage.StorageDeadlines.ApiGatewayTimeout.TotalSeconds:0} s.");
    }
}
