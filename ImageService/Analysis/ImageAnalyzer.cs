using ImageAspire.ImageService.Processing;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Analysis;

/// <summary>
/// An analysis under way: the faces as soon as they are known (the square renditions are cut around them; none when
/// that call failed), and the whole analysis, which never throws but for the caller's cancellation.
/// </summary>
public sealed record AnalysisRun(Task<IReadOnlyList<BoundingBox>> Faces, Task<ImageAnalysis> Analysis)
{
    /// <summary>A run whose faces are known only when the whole analysis is.</summary>
    public static AnalysisRun Of(Task<ImageAnalysis> analysis) => new(FacesOfAsync(analysis), analysis);

    private static async Task<IReadOnlyList<BoundingBox>> FacesOfAsync(Task<ImageAnalysis> analysis) => [.. (await analysis).Faces.Select(f => f.Box)];
}

/// <summary>Analyses one image; never fails the upload it belongs to (a failure is an analysis that reads <c>Failed</c>).</summary>
public interface IImageAnalyzer
{
    /// <summary>Starts the labels, moderation labels and faces of <paramref name="jpeg"/>; cancelled only by the caller's token.</summary>
    AnalysisRun Start(byte[] jpeg, AnalysisSettings settings, CancellationToken cancellationToken);
}

/// <summary>
/// The three Rekognition calls at once, bounded by <see cref="AnalysisOptions.Timeout"/>. The image sent is the
/// pipeline's analysis JPEG: the already decoded, auto-oriented pixels without watermark, at most the largest
/// rendition's size (well under Rekognition's 5 MB), so every input format works and Rekognition needs no access to the buckets.
/// </summary>
public sealed class RekognitionImageAnalyzer(RekognitionClient rekognition, IOptions<AnalysisOptions> options, ILogger<RekognitionImageAnalyzer> logger) : IImageAnalyzer
{
    public AnalysisRun Start(byte[] jpeg, AnalysisSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var stack = options.Value;
        if (!stack.Enabled || !settings.Enabled)
        {
            return AnalysisRun.Of(Task.FromResult(ImageAnalysis.Off));
        }

        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(stack.Timeout);
        // Faces first: the square renditions wait for them, and a stand-in that answers one call at a time answers it first.
        var faces = rekognition.DetectFacesAsync(jpeg, deadline.Token);
        var labels = rekognition.DetectLabelsAsync(jpeg, ImageAnalysis.MaxLabels, settings.LabelMinConfidence, deadline.Token);
        var moderation = rekognition.DetectModerationLabelsAsync(jpeg, settings.ModerationMinConfidence, deadline.Token);
        return new AnalysisRun(FacesOrNoneAsync(faces), CompleteAsync(labels, moderation, faces, deadline, stack, cancellationToken));
    }

    private static async Task<IReadOnlyList<BoundingBox>> FacesOrNoneAsync(Task<RekognitionResponses.DetectFaces> faces)
    {
        try
        {
            return [.. FacesOf(await faces).Select(f => f.Box)];
        }
        catch (Exception ex) when (ex is RekognitionException or HttpRequestException or OperationCanceledException or TimeoutException or System.Text.Json.JsonException)
        {
            // Counted and logged once, by the whole analysis.
            return [];
        }
    }

    private async Task<ImageAnalysis> CompleteAsync(
        Task<RekognitionResponses.DetectLabels> labels,
        Task<RekognitionResponses.DetectModerationLabels> moderation,
        Task<RekognitionResponses.DetectFaces> faces,
        CancellationTokenSource deadline,
        AnalysisOptions stack,
        CancellationToken cancellationToken)
    {
        using var _ = deadline;
        try
        {
            await Task.WhenAll(labels, moderation, faces);
            return Map(await labels, await moderation, await faces);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && ex is RekognitionException or HttpRequestException or OperationCanceledException or TimeoutException or System.Text.Json.JsonException)
        {
            var reason = ex switch
            {
                RekognitionException refused => refused.Type,
                OperationCanceledException or TimeoutException => "Timeout",
                _ => "Unreachable",
            };
            ImageTelemetry.AnalysisFailed.Add(1, new KeyValuePair<string, object?>("reason", reason));
            logger.LogWarning(ex, "Image analysis failed ({Reason}); the image is kept and its analysis can be retried", reason);
            return ImageAnalysis.Failed(
                reason == "Timeout" ? $"Rekognition did not answer within {stack.Timeout.TotalSeconds:0.#} s." : ex.Message,
                retryable: ex is not RekognitionException refusal || IsTransient(refusal.Type) || (int)refusal.Status >= 500);
        }
    }

    private static IReadOnlyList<DetectedFace> FacesOf(RekognitionResponses.DetectFaces faces) =>
        [.. (faces.FaceDetails ?? []).Where(f => f.BoundingBox is not null).Take(ImageAnalysis.MaxFaces)
            .Select(f => new DetectedFace(Box(f.BoundingBox!), f.Confidence))];

    private static BoundingBox Box(RekognitionResponses.Box box) => new(box.Left, box.Top, box.Width, box.Height);

    /// <summary>Rekognition's errors that say "later", not "never" (its documented throttling and server errors).</summary>
    public static bool IsTransient(string errorType) => errorType is "ThrottlingException" or "ProvisionedThroughputExceededException"
        or "InternalServerError" or "ServiceUnavailableException" or "LimitExceededException"
        // Not Rekognition's answer at all (a proxy's page, a cut body): another try may reach it.
        or "InvalidResponse";

    public static ImageAnalysis Map(RekognitionResponses.DetectLabels labels, RekognitionResponses.DetectModerationLabels moderation, RekognitionResponses.DetectFaces faces)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(moderation);
        ArgumentNullException.ThrowIfNull(faces);
        var moderationLabels = (moderation.ModerationLabels ?? [])
            .OrderByDescending(l => l.Confidence)
            .Take(ImageAnalysis.MaxModerationLabels)
            .Select(l => new ModerationLabel(l.Name, string.IsNullOrEmpty(l.ParentName) ? null : l.ParentName, l.Confidence))
            .ToList();
        return new ImageAnalysis(
            AnalysisStatus.Done,
            [.. (labels.Labels ?? [])
                .OrderByDescending(l => l.Confidence)
                .Take(ImageAnalysis.MaxLabels)
                .Select(l => new DetectedLabel(
                    l.Name,
                    l.Confidence,
                    [.. (l.Parents ?? []).Select(p => p.Name)],
                    [.. (l.Instances ?? []).Where(i => i.BoundingBox is not null).Take(ImageAnalysis.MaxBoxesPerLabel).Select(i => Box(i.BoundingBox!))]))],
            moderationLabels,
            FacesOf(faces),
            // Rekognition answered only labels at or above the threshold asked for.
            moderationLabels.Count > 0,
            labels.LabelModelVersion is { } version ? $"rekognition-labels {version}" + (moderation.ModerationModelVersion is { } m ? $", moderation {m}" : string.Empty) : null,
            null);
    }
}
