using System.Security.Cryptography;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>An image stored but not yet confirmed, and its analysis, which may still be running.</summary>
public sealed record StoredUpload(ImageRecord Image, Task<ImageAnalysis> Analysis);

/// <summary>
/// <c>POST /api/images</c> in two steps. <see cref="StoreAsync"/> processes, writes the original and the renditions,
/// then creates the item unconfirmed (the commit; only if no item of the id exists, so a tombstone fences a create whose
/// answer was lost). <see cref="ConfirmAsync"/> then clears <see cref="ImageRecord.ConfirmBy"/>; only after it is the
/// caller told 201. An unconfirmed item is hidden from every reader and discarded by the sweep once its window has
/// passed, so a refusal never depends on the process that made it staying alive. The answer does not wait for an
/// analysis still running when the image is stored: it reads <c>Pending</c>, and <see cref="AnalysisFollowUps"/>
/// stores it when it ends.
/// </summary>
public sealed class DirectUploads(
    ImageProcessor processor,
    IObjectStore objects,
    IImageMetadataStore metadata,
    CommitResolver resolver,
    ImageRemover remover,
    ImageAnalyses analyses,
    AnalysisFollowUps followUps,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<DirectUploads> logger)
{
    private StorageDeadlines Deadlines => storage.Value.Deadlines;

    /// <summary>One image, stored and confirmed.</summary>
    public async Task<ImageRecord> UploadAsync(string owner, string? fileName, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        await ConfirmAsync(await StoreAsync(owner, fileName, data, cancellationToken));

    /// <summary>Processes and stores one image; its item is created unconfirmed (see <see cref="ConfirmAsync"/>).</summary>
    public async Task<StoredUpload> StoreAsync(string owner, string? fileName, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
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

        // The analysis started while the renditions were encoded and goes on beside their storage; the answer does not
        // wait for whatever is left of it.
        var (result, analysis, framedOnFaces) = await processor.RunAsync(data, cancellationToken);
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
            FramedOnFaces = framedOnFaces,
            CreatedAt = now,
            UpdatedAt = now,
            ConfirmBy = now + Deadlines.ConfirmWindow,
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
                    image = await analyses.RecordAsync(image, analysis.IsCompletedSuccessfully ? await analysis : ImageAnalysis.Pending, budget);
                    createSent = true;
                    return await metadata.TryCreateAsync(image, budget);
                }, cancellationToken);
                if (created)
                {
                    return new StoredUpload(image with { Version = 1 }, analysis);
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
                return new StoredUpload(item!, analysis);
            case CommitOutcome.NotCommitted:
                await staged.RemoveAsync();
                throw new UnknownOutcomeException($"Storage failed while image {id} was stored; nothing was kept.", failure ?? new InvalidOperationException("conditional check failed"));
            default:
                // If the create landed, its item is unconfirmed: never shown, and discarded by the sweep with the objects.
                throw new UnknownOutcomeException(
                    $"Storage did not answer while image {id} was stored. It will not appear among your images, and what was written is removed later; uploading again is safe.",
                    failure ?? new TimeoutException());
        }
    }

    /// <summary>
    /// Confirms a stored image: after this it is shown, and the caller may be told 201; an analysis still running is
    /// stored when it ends. When the confirmation's outcome cannot be learnt, the image may still appear (the
    /// confirmation may have landed): the exception says so.
    /// </summary>
    public async Task<ImageRecord> ConfirmAsync(StoredUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var confirmed = await ConfirmAsync(upload.Image);
        // Still running; or done, with faces found after the squares were cut (they are made again at once).
        if (confirmed.Analysis is { } analysis && (analysis.Status == AnalysisStatus.Pending || SquareReframer.IsDue(confirmed, analysis)))
        {
            followUps.Start(confirmed, upload.Analysis);
        }

        return confirmed;
    }

    private async Task<ImageRecord> ConfirmAsync(ImageRecord image)
    {
        Exception? failure = null;
        try
        {
            // Not cancelled by the caller leaving: a confirmation half sent is what this method must not leave behind.
            if (await StorageCalls.WithinAsync(Deadlines.ConfirmCap, time, budget => metadata.TryUpdateAsync(image with { ConfirmBy = null }, image.Version, budget), CancellationToken.None) is { } confirmed)
            {
                return Stored(confirmed);
            }
        }
        catch (Exception ex) when (StorageCalls.IsTransient(ex))
        {
            failure = ex;
        }

        // The answer was lost, or the condition failed (which the SDK's retry of an applied confirmation also gives).
        ImageRecord? now = null;
        if (await StorageCalls.TryWithinAsync(Deadlines.ResolveBudget, time, async budget => now = await metadata.GetAsync(image.Owner, image.Id, budget)) is null
            && now is not null)
        {
            if (now is { Status: ImageStatus.Ready, ConfirmBy: null } && now.Version == image.Version + 1)
            {
                logger.LogInformation("Image {ImageId}: the confirmation's answer was lost, but it landed", image.Id);
                return Stored(now);
            }

            // Still unconfirmed: a tombstone at that version fences a confirmation still in flight.
            var discarded = now.Status == ImageStatus.Discarded;
            if (!discarded && now.Version == image.Version)
            {
                await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, async budget => discarded = await metadata.TryDiscardAsync(image.Owner, image.Id, image.Version, budget));
            }

            if (discarded)
            {
                // Its objects go now if storage lets them, or with the sweep.
                await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, budget => remover.RemoveObjectsAsync(image.Owner, image.Id, budget));
                throw new UnknownOutcomeException($"Storage failed while image {image.Id} was confirmed; nothing was kept.", failure ?? new InvalidOperationException("conditional check failed"));
            }
        }

        throw new UnknownOutcomeException(
            $"Storage did not answer while image {image.Id} was confirmed: it may appear among your images within a few minutes, or not. Look before uploading it again.",
            failure ?? new TimeoutException());
    }

    /// <summary>
    /// All or nothing for a request of several files: unconfirmed images are discarded (the sweep does it if storage
    /// does not answer); confirmed ones are removed, and those storage does not answer for stay, as the answer says.
    /// </summary>
    public async Task RollBackAsync(string owner, IEnumerable<ImageRecord> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        foreach (var image in stored)
        {
            var failure = image.ConfirmBy is not null
                ? await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, budget => metadata.TryDiscardAsync(owner, image.Id, image.Version, budget))
                : await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, budget => remover.RemoveAsync(owner, image.Id, budget));
            if (failure is not null && image.ConfirmBy is null)
            {
                logger.LogWarning(failure, "Image {ImageId} of a refused request was confirmed and could not be removed; it stays", image.Id);
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
