using System.Text.Json.Serialization;

namespace ImageAspire.ImageService.Analysis;

[JsonConverter(typeof(JsonStringEnumConverter<AnalysisStatus>))]
public enum AnalysisStatus
{
    /// <summary>Not analysed yet: the upload was answered before its analysis ended, which is stored when it does (the image is due meanwhile).</summary>
    Pending,

    Done,

    /// <summary>Rekognition did not answer or refused the image; the image itself is unaffected.</summary>
    Failed,

    /// <summary>Analysis is switched off for the stack.</summary>
    Off,
}

/// <summary>A box as Rekognition gives it: fractions of the image's width and height.</summary>
public sealed record BoundingBox(double Left, double Top, double Width, double Height);

public sealed record DetectedLabel(string Name, double Confidence, IReadOnlyList<string> Parents, IReadOnlyList<BoundingBox> Boxes);

public sealed record ModerationLabel(string Name, string? ParentName, double Confidence);

public sealed record DetectedFace(BoundingBox Box, double Confidence);

/// <summary>
/// What Rekognition found in an image, stored on its item. The lists are bounded (<see cref="MaxLabels"/> and the
/// others), so an item stays far below DynamoDB's 400 KB whatever the image holds.
/// </summary>
public sealed record ImageAnalysis(
    AnalysisStatus Status,
    IReadOnlyList<DetectedLabel> Labels,
    IReadOnlyList<ModerationLabel> Moderation,
    IReadOnlyList<DetectedFace> Faces,
    bool Sensitive,
    string? Model,
    string? Error)
{
    public const int MaxLabels = 50;
    public const int MaxBoxesPerLabel = 10;
    public const int MaxModerationLabels = 20;
    public const int MaxFaces = 50;

    /// <summary>After this many tries a failed analysis is left <c>Failed</c>: Rekognition keeps refusing or is down for long.</summary>
    public const int MaxAttempts = 5;

    /// <summary>How many times the image has been sent to Rekognition (1 for the upload's own analysis).</summary>
    public int Attempts { get; init; } = 1;

    /// <summary>A failure that another try may not repeat (a timeout, throttling, an unreachable endpoint) — not a refused image.</summary>
    public bool Retryable { get; init; }

    public static ImageAnalysis Off { get; } = new(AnalysisStatus.Off, [], [], [], false, null, null);

    public static ImageAnalysis Pending { get; } = new(AnalysisStatus.Pending, [], [], [], false, null, null) { Attempts = 0 };

    public static ImageAnalysis Failed(string error, bool retryable = false) => new(AnalysisStatus.Failed, [], [], [], false, null, error) { Retryable = retryable };

    /// <summary>Whether another try is due: a retryable failure with tries left.</summary>
    public bool ShouldRetry => Status == AnalysisStatus.Failed && Retryable && Attempts < MaxAttempts;

    /// <summary>Every label and parent the image carries, once each (case-insensitively): what the label filter finds it by.</summary>
    public IReadOnlyList<string> LabelNames() =>
        [.. Labels.SelectMany(l => l.Parents.Prepend(l.Name)).Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Whether the image carries <paramref name="label"/> itself or as a parent of one of its labels, case-insensitively.</summary>
    public bool HasLabel(string label) => LabelNames().Contains(label.Trim(), StringComparer.OrdinalIgnoreCase);
}
