using System.Security.Cryptography;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// <c>POST /api/images</c>: process, write the original and the renditions, then create the item (the commit).
/// The item is created only if no item of the id exists, so a tombstone fences a create whose answer was lost;
/// a create whose outcome stays unknown is settled later by <see cref="RefusedUploads"/>.
/// </summary>
public sealed class DirectUploads(
    ImageProcessor processor,
    IObjectStore objects,
    IImageMetadataStore metadata,
    CommitResolver resolver,
    ImageRemover remover,
    RefusedUploads refused,
    ImageAnalyses analyses,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<DirectUploads> logger)
{
    private StorageDeadlines Deadlines => storage.Value.Deadlines;

    public async Task<ImageRecord> UploadAsync(string owner, string? fileName, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        using var activity = ImageTelemetry.Source.StartActivity("upload");
        var limits = processing.Value;
        if (data.IsEmpty)
        {
            throw ImageProcessor.Rejected(new ImageRejectedException(RejectionReason.Empty, $"The file {Describe(fileName)}is empty."));
        }

        if (data.Length > limits.MaxUploadBytes)
        {
            throw ImageProcessor.Rejected(new ImageRejectedException(RejectionReason.TooLarge,
                $"The file {Describe(fileName)}is {data.Length} bytes; the limit is {limits.MaxUploadBytes} bytes. Use POST /api/uploads for larger files."));
        }

        // The analysis started while the renditions were encoded; it goes on beside their storage, so the answer waits
        // for whichever ends last, not for both in turn.
        var (result, analysis) = await processor.RunAsync(data, cancellationToken);
        var now = time.GetUtcNow();
        var id = ImageId.New(now);
        var attempt = ImageKeys.NewAttempt();
        activity?.SetTag("image.id", id);
        var image = new ImageRecord
        {
            Owner = owner,
            Id = id,
            Status = ImageStatus.Ready,
            FileName = ImageProcessor.CleanFileName(fileName),
            OriginalKey = ImageKeys.Original(owner, id, result.SourceFormat.Extension()),
            ContentType = result.SourceFormat.ContentType(),
            Width = result.Width,
            Height = result.Height,
            Bytes = data.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(data.Span)),
            Attempt = attempt,
            CreatedAt = now,
            UpdatedAt = now,
        };

        var staged = new StagedObjects(objects, Deadlines.RemovalBudget, time, logger);
        Exception? failure = null;
        var createSent = false;
        using (ImageTelemetry.Source.StartActivity("store"))
        {
            try
            {
                var created = await StorageCalls.WithinAsync(Deadlines.StoreBudget, time, async budget =>
                {
                    await staged.PutAsync(storage.Value.OriginalsBucket, image.OriginalKey, data, image.ContentType, null,
                        new Dictionary<string, string> { ["sha256"] = image.Sha256 }, budget);
                    image = image with { Renditions = await processor.StoreRenditionsAsync(image, attempt, result, staged, budget) };
                    // Within the store budget too: an analysis slower than what is left of it must not hold the answer.
                    image = await analyses.RecordAsync(image, await analysis.WaitAsync(budget), budget);
                    createSent = true;
                    return await metadata.TryCreateAsync(image, budget);
                }, cancellationToken);
                if (created)
                {
                    return Stored(image with { Version = 1 });
                }
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                failure = ex;
            }
        }

        // The create's answer was lost (or it failed its condition, which the SDK's retry of an applied create also
        // gives). Learn what happened, unhurried by the caller leaving: the objects may only go if it did not land.
        var (outcome, item) = createSent ? await ResolveAsync(owner, id) : (CommitOutcome.NotCommitted, null);
        switch (outcome)
        {
            case CommitOutcome.Committed:
                logger.LogInformation("Image {ImageId}: the create's answer was lost, but it landed", id);
                return Stored(item!);
            case CommitOutcome.NotCommitted:
                await staged.RemoveAsync();
                throw new UnknownOutcomeException($"Storage failed while image {id} was stored; nothing was kept.", failure ?? new InvalidOperationException("conditional check failed"));
            default:
                refused.Add(owner, id);
                throw new UnknownOutcomeException($"Storage did not answer while image {id} was stored; it will be removed.", failure ?? new TimeoutException());
        }
    }

    /// <summary>
    /// All or nothing for a request of several files: the images stored before one failed are removed; those storage
    /// does not answer for are removed in the background once it does.
    /// </summary>
    public async Task RollBackAsync(string owner, IEnumerable<ImageRecord> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        foreach (var image in stored)
        {
            if (await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, budget => remover.RemoveAsync(owner, image.Id, budget)) is not null)
            {
                refused.Add(owner, image.Id);
            }
        }
    }

    private async Task<(CommitOutcome, ImageRecord?)> ResolveAsync(string owner, string id)
    {
        using var budget = new CancellationTokenSource(Deadlines.ResolveBudget, time);
        return await resolver.ResolveCreateAsync(owner, id, budget.Token);
    }

    private ImageRecord Stored(ImageRecord image)
    {
        ImageTelemetry.ImagesProcessed.Add(1);
        logger.LogInformation("Image {ImageId} of {Owner} stored: {Width}x{Height} {ContentType}, {Renditions} renditions",
            image.Id, image.Owner, image.Width, image.Height, image.ContentType, image.Renditions.Count);
        return image;
    }

    private static string Describe(string? fileName) => string.IsNullOrWhiteSpace(fileName) ? string.Empty : $"'{ImageProcessor.CleanFileName(fileName)}' ";
}
