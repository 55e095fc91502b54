using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// Makes an image's renditions again once faces are found after its square ones were cut without them (an analysis
/// that outlasted the face wait, or one retried after a failure). Every rendition is written under a new attempt, so a
/// rendition's key still never changes content (CloudFront caches them as immutable) and the sweep's rule stays the
/// one it is: objects under an attempt the item does not name are removed.
/// </summary>
public sealed class SquareReframer(
    IObjectStore objects,
    IImagePipeline pipeline,
    PipelineGate gate,
    ISettingsStore settings,
    ImageProcessor processor,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<SquareReframer> logger)
{
    /// <summary>Whether <paramref name="image"/>'s square renditions miss the faces <paramref name="analysis"/> found.</summary>
    public static bool IsDue(ImageRecord image, ImageAnalysis analysis)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(analysis);
        return !image.FramedOnFaces && analysis.Status == AnalysisStatus.Done && analysis.Faces.Count > 0 && image.Status == ImageStatus.Ready;
    }

    /// <summary>
    /// The image with its renditions made again around <paramref name="faces"/>, written under a new attempt (staged:
    /// remove them if the item is not written). When its original is gone or can no longer be processed, the image as
    /// it is, marked so that it is not tried again, and nothing staged.
    /// </summary>
    public async Task<(ImageRecord Image, StagedObjects? Staged)> ReframeAsync(ImageRecord image, IReadOnlyList<BoundingBox> faces, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var current = await settings.GetAsync(cancellationToken);
        if (await objects.GetIfExistsAsync(storage.Value.OriginalsBucket, image.OriginalKey, processing.Value.MaxPresignedUploadBytes, cancellationToken) is not { } original)
        {
            logger.LogInformation("Image {ImageId}: its original is gone; its renditions stay as they are", image.Id);
            return (image with { FramedOnFaces = true }, null);
        }

        PipelineResult result;
        try
        {
            result = await gate.RunAsync(() => pipeline.Process(original, current, null, cancellationToken), cancellationToken);
        }
        catch (ImageRejectedException ex)
        {
            logger.LogWarning(ex, "Image {ImageId}: its original can no longer be processed; its renditions stay as they are", image.Id);
            return (image with { FramedOnFaces = true }, null);
        }

        if (result.CropSource is not null)
        {
            result = result.WithCrops(current, pipeline.Crop(result, current, faces, cancellationToken));
        }

        var attempt = ImageKeys.NewAttempt();
        var staged = new StagedObjects(objects, storage.Value.Deadlines.RemovalBudget, time, logger);
        var renditions = await processor.StoreRenditionsAsync(image, attempt, result, staged, cancellationToken);
        return (image with { Attempt = attempt, Renditions = renditions, FramedOnFaces = true }, staged);
    }

    /// <summary>After the item names the new renditions: the ones it named before go (the sweep removes any left).</summary>
    public async Task RemoveReplacedAsync(ImageRecord before)
    {
        ArgumentNullException.ThrowIfNull(before);
        if (await StorageCalls.TryWithinAsync(storage.Value.Deadlines.RemovalBudget, time,
                budget => objects.DeleteAsync(storage.Value.RenditionsBucket, [.. before.Renditions.Select(r => r.Key)], budget)) is { } failure)
        {
            logger.LogInformation(failure, "Image {ImageId}: its replaced renditions stay until the sweep removes them", before.Id);
        }
    }
}
