using System.Diagnostics;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// An image processed: every rendition; its analysis, which may still be running (it never fails; see
/// <see cref="IImageAnalyzer"/>); and whether its square renditions were cut around faces (or it has none).
/// </summary>
public sealed record ProcessedImage(PipelineResult Result, Task<ImageAnalysis> Analysis, bool FramedOnFaces);

/// <summary>
/// Runs the pipeline with the current settings behind the gate, analyses the image meanwhile, cuts the cover renditions
/// around the faces found, and stages one attempt's renditions.
/// </summary>
public sealed class ImageProcessor(
    IImagePipeline pipeline,
    PipelineGate gate,
    ISettingsStore settings,
    IImageAnalyzer analyzer,
    MediaSecrets media,
    IOptions<StorageOptions> storage,
    IOptions<AnalysisOptions> analysisOptions,
    TimeProvider time,
    ILogger<ImageProcessor> logger)
{
    // A rendition's key never changes content (per-attempt keys), but a deleted image should not live on in CloudFront's
    // cache for long: a day bounds how long its owner could still load a copy cached before the delete.
    public const string RenditionCacheControl = "public, max-age=86400, immutable";

    public async Task<ProcessedImage> RunAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ImageTelemetry.BytesIn.Add(data.Length);
        var current = await settings.GetAsync(cancellationToken);
        AnalysisRun? analysis = null;
        PipelineResult result;
        try
        {
            // Not the request's token: a direct upload's analysis may end after the answer (AnalysisFollowUps). It is
            // bounded by Analysis:Timeout all the same.
            result = await gate.RunAsync(
                () => pipeline.Process(data, current, jpeg => analysis = analyzer.Start(jpeg, current.AnalysisOrDefault, CancellationToken.None), cancellationToken),
                cancellationToken);
        }
        catch (ImageRejectedException ex)
        {
            throw Rejected(ex);
        }

        analysis ??= AnalysisRun.Of(Task.FromResult(ImageAnalysis.Failed("The pipeline made no image to analyse.")));
        if (result.CropSource is null)
        {
            return new ProcessedImage(result, analysis.Analysis, FramedOnFaces: true);
        }

        var faces = await FacesAsync(analysis.Faces, cancellationToken);
        // Small (a few hundred pixels a side) and quick: outside the gate, which bounds the decoding of originals.
        return new ProcessedImage(result.WithCrops(current, pipeline.Crop(result, current, faces, cancellationToken)), analysis.Analysis, faces.Count > 0);
    }

    /// <summary>The faces, if they are known within <see cref="AnalysisOptions.FaceWait"/>; none otherwise (the analysis goes on).</summary>
    private async Task<IReadOnlyList<BoundingBox>> FacesAsync(Task<IReadOnlyList<BoundingBox>> faces, CancellationToken cancellationToken)
    {
        try
        {
            return await faces.WaitAsync(analysisOptions.Value.FaceWait, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            logger.LogInformation("No faces within {FaceWait}; the square renditions use the attention crop", analysisOptions.Value.FaceWait);
            return [];
        }
    }

    public async Task<List<RenditionRecord>> StoreRenditionsAsync(ImageRecord image, string attempt, PipelineResult result, StagedObjects staged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(staged);
        var records = new List<RenditionRecord>(result.Renditions.Count);
        var mediaKey = await media.MediaKeyOfAsync(image.Owner, cancellationToken);
        foreach (var rendition in result.Renditions)
        {
            var key = ImageKeys.Rendition(mediaKey, image.Id, attempt, rendition.Name, rendition.Format);
            await staged.PutAsync(storage.Value.RenditionsBucket, key, rendition.Data, rendition.Format.ContentType(), RenditionCacheControl, null, cancellationToken);
            ImageTelemetry.BytesOut.Add(rendition.Data.Length);
            records.Add(new RenditionRecord(rendition.Name, rendition.Format.Name(), rendition.Width, rendition.Height, rendition.Data.Length, key));
        }

        return records;
    }

    /// <summary>Tags the current span with a refusal's reason (it is counted where it becomes final).</summary>
    public static ImageRejectedException Rejected(ImageRejectedException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        Activity.Current?.SetTag("image.rejected", ex.Reason.ToString());
        return ex;
    }

    public static string? CleanFileName(string? fileName)
    {
        if (string.IsNullOrWhiteSpace(fileName))
        {
            return null;
        }

        var name = Path.GetFileName(fileName.Replace('\\', '/')).Trim();
        name = new string(name.Where(c => !char.IsControl(c)).ToArray());
        return name.Length > 200 ? name[..200] : name;
    }
}
