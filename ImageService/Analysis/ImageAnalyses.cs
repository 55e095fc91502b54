using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Analysis;

/// <summary>
/// What an image's analysis leaves in storage, and its retries. True of stored data at every moment:
/// <list type="number">
/// <item>A live image whose analysis is <c>Done</c> has a label entry for each of its labels and their parents, or it
/// is due (<see cref="ImageRecord.AnalysisDueAt"/> set), so the sweep writes them.</item>
/// <item>An image whose analysis failed in a way another try may not repeat, with tries left, is due.</item>
/// <item>An image whose analysis is <c>Pending</c> (its upload was answered first) is due once the analysis still running
/// for it has had its time: that run stores it (<see cref="CompleteAsync"/>), or, if its process died, the sweep.</item>
/// <item>An image whose analysis found faces its square renditions were not cut around is due, so its renditions are
/// made again (<see cref="SquareReframer"/>).</item>
/// <item>A label entry never shows an image by itself: a reader checks the item (<see cref="ImageLibrary"/>). Entries
/// are written before the item that names them and removed after it stops naming them, so a lost or late write
/// leaves at most an entry that shows nothing.</item>
/// </list>
/// </summary>
public sealed class ImageAnalyses(
    IImageMetadataStore metadata,
    ILabelIndex labels,
    IObjectStore objects,
    IImagePipeline pipeline,
    PipelineGate gate,
    ISettingsStore settings,
    IImageAnalyzer analyzer,
    SquareReframer reframer,
    IOptions<AnalysisOptions> options,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<ImageAnalyses> logger)
{
    /// <summary>
    /// Before the write that stores <paramref name="analysis"/> on <paramref name="image"/>: writes its label entries,
    /// and gives the image to write, due again if that failed or the analysis is to be retried.
    /// </summary>
    public async Task<ImageRecord> RecordAsync(ImageRecord image, ImageAnalysis analysis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(analysis);
        var indexed = analysis.Status != AnalysisStatus.Done || await TryIndexAsync(image, analysis, cancellationToken);
        return image with { Analysis = analysis, AnalysisDueAt = DueAt(analysis, indexed && !SquareReframer.IsDue(image, analysis)) };
    }

    /// <summary>
    /// Stores the analysis that ended after its upload was answered (the image reads <c>Pending</c> until then), with
    /// a write conditional on the version confirmed: an image deleted or analysed again meanwhile keeps what it has.
    /// Null when that write lost.
    /// </summary>
    public async Task<ImageRecord?> CompleteAsync(ImageRecord image, ImageAnalysis analysis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var stored = await StoreAsync(image, analysis, cancellationToken);
        if (stored is null)
        {
            logger.LogInformation("Image {ImageId} changed before its analysis ended (deleted, or analysed again); what it has stands", image.Id);
        }

        return stored;
    }

    /// <summary>
    /// Writes <paramref name="analysis"/> on the image read at <paramref name="image"/>'s version (its renditions made
    /// again first when their squares miss the faces it found); null when that write lost, and nothing it wrote stays.
    /// </summary>
    private async Task<ImageRecord?> StoreAsync(ImageRecord image, ImageAnalysis analysis, CancellationToken cancellationToken)
    {
        var (framed, staged) = SquareReframer.IsDue(image, analysis)
            ? await reframer.ReframeAsync(image, [.. analysis.Faces.Select(f => f.Box)], cancellationToken)
            : (image, null);
        var stored = await metadata.TryUpdateAsync(await RecordAsync(framed, analysis, cancellationToken), image.Version, cancellationToken);
        if (staged is not null)
        {
            await (stored is null ? staged.RemoveAsync() : reframer.RemoveReplacedAsync(image));
        }

        return stored;
    }

    /// <summary>
    /// Analyses a stored image again: the owner's call (<paramref name="force"/>: whatever its analysis reads) or the
    /// sweep's (only when it is due). Null when there is no such processed image.
    /// </summary>
    public async Task<ImageRecord?> RetryAsync(string owner, string id, bool force, CancellationToken cancellationToken)
    {
        var image = await metadata.GetAsync(owner, id, cancellationToken);
        // An unconfirmed upload is its uploader's to confirm (a write of ours would fail its confirmation) or the sweep's to discard.
        if (image is not { Status: ImageStatus.Ready, ConfirmBy: null })
        {
            return null;
        }

        if (!force && (image.AnalysisDueAt is not { } dueAt || dueAt > time.GetUtcNow()))
        {
            // The index is read eventually consistently: another try got here first.
            return image;
        }

        var previous = image.Analysis;
        // Done already: only its label entries or its square renditions are missing.
        var analysed = previous is { Status: AnalysisStatus.Done } && !force;
        if (!force)
        {
            // Claimed before Rekognition is called (it bills each call) or the renditions are made again: of two sweeps
            // that found the image due, one wins this write and the other leaves it. A claim whose process dies lapses,
            // and the image is due again.
            var claimed = await metadata.TryUpdateAsync(image with { AnalysisDueAt = time.GetUtcNow() + ClaimLease }, image.Version, cancellationToken);
            if (claimed is null)
            {
                logger.LogInformation("Image {ImageId} changed before its analysis was retried (another try claimed it, or it was deleted)", id);
                return await ReadyOrNullAsync(owner, id, cancellationToken);
            }

            image = claimed;
        }

        var analysis = analysed
            ? previous!
            : await AnalyzeStoredAsync(image, cancellationToken) with { Attempts = (previous?.Attempts ?? 0) + 1 };
        var stored = await StoreAsync(image, analysis, cancellationToken);
        if (stored is null)
        {
            // Changed meanwhile (deleted, or another try won): what it reads now stands. Entries written for it show
            // nothing unless the item carries their label.
            logger.LogInformation("Image {ImageId} changed while its analysis was retried; the retry was not stored", id);
            return await ReadyOrNullAsync(owner, id, cancellationToken);
        }

        var dropped = (previous?.LabelNames() ?? []).Except(analysis.LabelNames(), StringComparer.OrdinalIgnoreCase).ToList();
        if (dropped.Count > 0
            && await StorageCalls.TryWithinAsync(storage.Value.Deadlines.RemovalBudget, time, budget => labels.RemoveAsync(owner, id, dropped, budget)) is { } failure)
        {
            logger.LogInformation(failure, "Label entries of image {ImageId} it no longer carries stay for now; they show nothing", id);
        }

        ImageTelemetry.AnalysisRetried.Add(1, new KeyValuePair<string, object?>("status", stored.Analysis!.Status.ToString()));
        logger.LogInformation("Analysis of image {ImageId} retried (try {Attempt}): {Status}", id, analysis.Attempts, analysis.Status);
        return stored;
    }

    /// <summary>What the image reads now, after a conditional write of the retry lost: null once it is no longer processed.</summary>
    private async Task<ImageRecord?> ReadyOrNullAsync(string owner, string id, CancellationToken cancellationToken) =>
        await metadata.GetAsync(owner, id, cancellationToken) is { Status: ImageStatus.Ready } current ? current : null;

    /// <summary>How long a sweep's claim on a due image holds: Rekognition's time, and storage's longest wait, after it.</summary>
    private TimeSpan ClaimLease => options.Value.Timeout + storage.Value.Deadlines.WorstAnswer;

    /// <summary>Retries the analyses that are due now, at most <paramref name="limit"/>; returns how many were stored.</summary>
    public async Task<int> RetryDueAsync(int limit, CancellationToken cancellationToken)
    {
        var retried = 0;
        foreach (var (owner, id) in await metadata.ListAnalysisDueAsync(time.GetUtcNow(), limit, cancellationToken))
        {
            try
            {
                if (await RetryAsync(owner, id, force: false, cancellationToken) is not null)
                {
                    retried++;
                }
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                logger.LogInformation(ex, "Analysis of image {ImageId} not retried yet: storage did not answer", id);
            }
        }

        return retried;
    }

    /// <summary>Reads the original again and sends its analysis image; a missing or unreadable original fails for good.</summary>
    private async Task<ImageAnalysis> AnalyzeStoredAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        var current = await settings.GetAsync(cancellationToken);
        if (await objects.GetIfExistsAsync(storage.Value.OriginalsBucket, image.OriginalKey, processing.Value.MaxPresignedUploadBytes, cancellationToken) is not { } original)
        {
            return ImageAnalysis.Failed("The original is gone.");
        }

        byte[] jpeg;
        try
        {
            jpeg = await gate.RunAsync(() => pipeline.AnalysisImage(original, current, cancellationToken), cancellationToken);
        }
        catch (ImageRejectedException ex)
        {
            return ImageAnalysis.Failed(ex.Message);
        }

        return await analyzer.Start(jpeg, current.AnalysisOrDefault, cancellationToken).Analysis;
    }

    private async Task<bool> TryIndexAsync(ImageRecord image, ImageAnalysis analysis, CancellationToken cancellationToken)
    {
        try
        {
            await labels.AddAsync(image.Owner, image.Id, analysis.LabelNames(), cancellationToken);
            return true;
        }
        catch (Exception ex) when (StorageCalls.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "The label entries of image {ImageId} were not written; the image stays due until they are", image.Id);
            return false;
        }
    }

    /// <summary>
    /// Still running: once it has had its time. Label entries or reframed renditions missing: soon. A retryable
    /// failure: later each time (the delay doubles). Otherwise never.
    /// </summary>
    private DateTimeOffset? DueAt(ImageAnalysis analysis, bool complete)
    {
        var delay = options.Value.RetryDelay;
        return analysis.Status == AnalysisStatus.Pending ? time.GetUtcNow() + ClaimLease
            : !complete ? time.GetUtcNow() + delay
            : analysis.ShouldRetry ? time.GetUtcNow() + (delay * Math.Pow(2, Math.Max(0, analysis.Attempts - 1)))
            : null;
    }
}
