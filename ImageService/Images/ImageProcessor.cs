using System.Diagnostics;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>Runs the pipeline with the current settings behind the gate, and stages one attempt's renditions.</summary>
public sealed class ImageProcessor(IImagePipeline pipeline, PipelineGate gate, ISettingsStore settings, MediaSecrets media, IOptions<StorageOptions> storage)
{
    // A rendition's key never changes content (per-attempt keys), but a deleted image should not live on in CloudFront's
    // cache for long: a day bounds how long its owner could still load a copy cached before the delete.
    public const string RenditionCacheControl = "public, max-age=86400, immutable";

    public async Task<PipelineResult> RunAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ImageTelemetry.BytesIn.Add(data.Length);
        var current = await settings.GetAsync(cancellationToken);
        try
        {
            return await gate.RunAsync(() => pipeline.Process(data, current, cancellationToken), cancellationToken);
        }
        catch (ImageRejectedException ex)
        {
            throw Rejected(ex);
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
