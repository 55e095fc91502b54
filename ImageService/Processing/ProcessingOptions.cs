using System.ComponentModel.DataAnnotations;
using ImageAspire.ImageService.Extensions;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Processing;

public sealed class ProcessingOptions
{
    public const string SectionName = "Processing";

    /// <summary>Largest accepted file for <c>POST /api/images</c>.</summary>
    [Range(1, 200L * 1024 * 1024)]
    public long MaxUploadBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Largest accepted file for presigned uploads.</summary>
    [Range(1, 5L * 1024 * 1024 * 1024)]
    public long MaxPresignedUploadBytes { get; set; } = 50 * 1024 * 1024;

    /// <summary>Most files in one multipart request.</summary>
    [Range(1, 100)]
    public int MaxFilesPerRequest { get; set; } = 10;

    [Range(1, 1_000_000_000)]
    public long MaxPixels { get; set; } = 100_000_000;

    [Range(1, 100_000)]
    public int MaxSide { get; set; } = 30_000;

    /// <summary>Pipelines running at once (each uses one libvips thread).</summary>
    [Range(1, 64)]
    public int MaxConcurrentPipelines { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Pipelines waiting for a slot before new ones get 503.</summary>
    [Range(0, 1000)]
    public int MaxQueuedPipelines { get; set; } = 16;

    /// <summary>How long a presigned upload URL stays valid (SigV4 allows at most seven days).</summary>
    [TimeSpanRange("00:00:05", "7.00:00:00")]
    public TimeSpan PresignedUploadExpiry { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// After this long a claim on an upload is taken as abandoned (its worker died or lost its storage) and
    /// another worker may take it over; longer than any processing run (the template caps the function timeout at 90 s).
    /// </summary>
    [TimeSpanRange("00:00:05", "01:00:00")]
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long processing settings read from DynamoDB are reused.</summary>
    public TimeSpan SettingsCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The font the watermark text is drawn with (shipped with the service: Lambda has no fonts).</summary>
    public string FontFile { get; set; } = Path.Combine(AppContext.BaseDirectory, "Assets", "fonts", "DejaVuSans-Bold.ttf");
}

[OptionsValidator]
public sealed partial class ProcessingOptionsValidator : IValidateOptions<ProcessingOptions>;
