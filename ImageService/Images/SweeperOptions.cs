using System.ComponentModel.DataAnnotations;
using ImageAspire.ImageService.Extensions;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

public sealed class SweeperOptions
{
    public const string SectionName = "Sweeper";

    /// <summary>
    /// Sweep the buckets (and retry due analyses) in the background (web mode). Always off in Lambda, whatever is
    /// configured: there a schedule invokes the sweep, and every sandbox sweeping on its own timer would list every
    /// object once per sandbox; nothing runs in a Lambda sandbox's background.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the whole buckets are swept.</summary>
    [TimeSpanRange("00:00:01", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Objects younger than this are never removed: a direct upload writes its objects before its item exists.
    /// Longer than any request lives (API Gateway: 29 s; the function: 90 s).
    /// </summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The most analyses one round retries (each reads an original and calls Rekognition, about a second): a sweep
    /// invocation must end well within the function's timeout; the rest wait for the next round.
    /// </summary>
    [Range(1, 500)]
    public int AnalysesPerRound { get; set; } = 25;

    /// <summary>How often the background round (web mode) retries the analyses that are due.</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(5);
}

[OptionsValidator]
public sealed partial class SweeperOptionsValidator : IValidateOptions<SweeperOptions>;
