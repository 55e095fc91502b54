using System.Security.Cryptography;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// Presigned uploads after their ticket (<see cref="UploadTickets"/>): the S3 event or <c>complete</c> claims the item
/// (a conditional write naming a new attempt), writes that attempt's renditions and commits Ready with a write
/// conditional on the claim's version. Either order, a repeated event or a takeover of an abandoned claim yields
/// one image, and only the committed attempt's renditions are referenced.
/// </summary>
public sealed class PresignedUploads(
    ImageProcessor processor,
    IObjectStore objects,
    IImageMetadataStore metadata,
    CommitResolver resolver,
    ImageAnalyses analyses,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<PresignedUploads> logger)
{
    private StorageDeadlines Deadlines => storage.Value.Deadlines;

    private TimeSpan CallCap => Deadlines.CallCap;

    private ProcessingOptions Limits => processing.Value;

    private string Originals => storage.Value.OriginalsBucket;

    /// <summary>The S3 event path: the owner and id come from the key alone. Unknown keys are ignored.</summary>
    public async Task<ImageRecord?> ProcessObjectCreatedAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        if (bucket != Originals || !ImageKeys.TryParseOriginal(key, out var owner, out var id))
        {
            logger.LogWarning("Ignored an object event for {Bucket}/{Key}: not an original", bucket, key);
            return null;
        }

        var budget = NewBudget();
        var image = await budget.RunAsync(CallCap, ct => metadata.GetAsync(owner, id, ct), cancellationToken);
        if (image is null || image.Status == ImageStatus.Discarded || image.OriginalKey != key)
        {
            // Direct uploads write their original before their item; their event finds nothing to do.
            logger.LogInformation("No pending upload for {Key}", key);
            return null;
        }

        // An event is done only when the upload is: while another worker holds the claim, fail it, so it is delivered
        // again (Lambda retries a failed S3 invocation) and finishes the work should that worker die.
        var result = await ProcessAsync(image, budget, cancellationToken);
        return result is { Status: ImageStatus.Pending or ImageStatus.Processing }
            ? throw new UploadInProgressException($"Upload {image.Id} is being processed by another worker; deliver the event again later.")
            : result;
    }

    /// <summary>The <c>complete</c> path: processes a presigned upload unless that has happened already.</summary>
    public async Task<ImageRecord?> CompleteAsync(string owner, string id, CancellationToken cancellationToken)
    {
        // The stored state, not how it reads: an expired upload whose object did arrive is still processed.
        var budget = NewBudget();
        var image = ImageId.IsValid(id) ? await budget.RunAsync(CallCap, ct => metadata.GetAsync(owner, id, ct), cancellationToken) : null;
        return image is null || image.Status == ImageStatus.Discarded ? null : await ProcessAsync(image, budget, cancellationToken);
    }

    private StorageBudget NewBudget() => new(Deadlines.ProcessingBudget, time);

    private ImageRecord? Effective(ImageRecord image) => UploadRules.Effective(image, time.GetUtcNow(), Limits.ClaimTimeout);

    private async Task<ImageRecord?> ProcessAsync(ImageRecord image, StorageBudget budget, CancellationToken cancellationToken)
    {
        switch (UploadRules.NextStep(image, time.GetUtcNow(), Limits.ClaimTimeout))
        {
            case PendingStep.Answer:
                return Effective(image);
            case PendingStep.Wait:
                return await WaitWhileProcessingAsync(image, budget, cancellationToken);
        }

        var head = await budget.RunAsync(CallCap, ct => objects.HeadAsync(Originals, image.OriginalKey, ct), cancellationToken);
        if (head is null)
        {
            return Effective(image) is { Status: ImageStatus.Failed } failed ? failed : throw new UploadNotFoundException(image.Id);
        }

        var (won, claimed) = await ClaimAsync(image, budget, cancellationToken);
        if (!won)
        {
            // Someone else (the event or a concurrent complete) got there first: answer with their result.
            return claimed.Status == ImageStatus.Processing ? await WaitWhileProcessingAsync(claimed, budget, cancellationToken) : Effective(claimed);
        }

        using var activity = ImageTelemetry.Source.StartActivity("process-upload");
        activity?.SetTag("image.id", image.Id);
        ProcessedImage processed;
        byte[] data;
        try
        {
            if (head.Value.Size > Limits.MaxPresignedUploadBytes || (image.ExpectedBytes is { } expected && head.Value.Size != expected))
            {
                throw new ImageRejectedException(RejectionReason.TooLarge,
                    $"The uploaded object is {head.Value.Size} bytes; {image.ExpectedBytes} were announced and the limit is {Limits.MaxPresignedUploadBytes}.");
            }

            data = await budget.RunAsync(CallCap, ct => objects.GetAsync(Originals, image.OriginalKey, Limits.MaxPresignedUploadBytes, ct), cancellationToken);
            processed = await processor.RunAsync(data, cancellationToken);
            if (processed.Result.SourceFormat.ContentType() != image.ContentType)
            {
                throw ImageProcessor.Rejected(new ImageRejectedException(RejectionReason.UnsupportedFormat,
                    $"The upload was announced as {image.ContentType} but is {processed.Result.SourceFormat.ContentType()}."));
            }
        }
        catch (ImageRejectedException ex)
        {
            return await CommitRefusalAsync(claimed, ex, budget);
        }
        catch (Exception ex)
        {
            // Nothing was written: give the claim back so a retry (the event's or the caller's) can run at once.
            await TryReleaseAsync(claimed);
            logger.LogWarning(ex, "Processing upload {ImageId} failed before storing; released for a retry", image.Id);
            throw;
        }

        return await CommitReadyAsync(claimed, data, processed, budget, cancellationToken);
    }

    /// <summary>The claim: Processing under a new attempt, conditional on the version read. Returns the current item if someone else won.</summary>
    private async Task<(bool Won, ImageRecord Current)> ClaimAsync(ImageRecord image, StorageBudget budget, CancellationToken cancellationToken)
    {
        var claim = UploadRules.Claim(image, ImageKeys.NewAttempt(), time.GetUtcNow());
        ImageRecord? claimed;
        try
        {
            claimed = await budget.RunAsync(CallCap, ct => metadata.TryUpdateAsync(claim, image.Version, ct), cancellationToken);
        }
        catch (Exception ex) when (StorageCalls.IsTransient(ex))
        {
            // The claim may have landed: give it back if it did, so a retry need not wait for it to go stale.
            var (outcome, _) = await ResolveAsync(claim with { Version = image.Version + 1 });
            logger.LogWarning(ex, "Claiming {ImageId} failed ({Outcome}); a retry may claim it", image.Id, outcome);
            throw;
        }

        if (claimed is not null)
        {
            return (true, claimed);
        }

        // Lost the race, or the SDK retried our applied claim: the item tells which.
        var current = await budget.RunAsync(CallCap, ct => metadata.GetAsync(image.Owner, image.Id, ct), cancellationToken) ?? image with { Status = ImageStatus.Discarded };
        return (current.Attempt == claim.Attempt && current.Status == ImageStatus.Processing, current);
    }

    private async Task<ImageRecord?> CommitReadyAsync(ImageRecord claimed, byte[] data, ProcessedImage processed, StorageBudget budget, CancellationToken cancellationToken)
    {
        var staged = new StagedObjects(objects, Deadlines.RemovalBudget, time, logger);
        Exception? failure = null;
        // The analysis goes on beside the storage of the renditions, so the commit waits for whichever ends last.
        var (result, analysis, framedOnFaces) = processed;
        try
        {
            var ready = await budget.RunAsync(Deadlines.StoreBudget, async ct =>
            {
                var renditions = await processor.StoreRenditionsAsync(claimed, claimed.Attempt!, result, staged, ct);
                // Within the store budget too: an analysis slower than what is left of it must not hold the commit.
                var ready = await analyses.RecordAsync(claimed with
                {
                    Status = ImageStatus.Ready,
                    Width = result.Width,
                    Height = result.Height,
                    Bytes = data.Length,
                    Sha256 = Convert.ToHexStringLower(SHA256.HashData(data)),
                    Renditions = renditions,
                    FramedOnFaces = framedOnFaces,
                    ClaimedAt = null,
                    UploadExpiresAt = null,
                }, await analysis.WaitAsync(ct), ct);
                return await metadata.TryUpdateAsync(ready, claimed.Version, ct);
            }, cancellationToken);
            if (ready is not null)
            {
                ImageTelemetry.ImagesProcessed.Add(1);
                logger.LogInformation("Presigned upload {ImageId} of {Owner} processed", claimed.Id, claimed.Owner);
                return ready;
            }
        }
        catch (Exception ex) when (StorageCalls.IsTransient(ex))
        {
            failure = ex;
        }

        var (outcome, item) = await ResolveAsync(claimed);
        switch (outcome)
        {
            case CommitOutcome.Committed:
                logger.LogInformation("Presigned upload {ImageId}: the commit's answer was lost, but it landed", claimed.Id);
                return item!;
            case CommitOutcome.NotCommitted:
                await staged.RemoveAsync();
                if (failure is null && item is not null && item.Version != claimed.Version + 1)
                {
                    // Our claim was taken over (it had gone stale) or the image was deleted: answer with what is there.
                    return Effective(item);
                }

                logger.LogWarning(failure, "Processing upload {ImageId} failed; released for a retry", claimed.Id);
                throw new UnknownOutcomeException($"Storage failed while upload {claimed.Id} was processed; retry.", failure ?? new InvalidOperationException("conditional check failed"));
            default:
                // The claim still names this attempt: its objects stay until the claim is released or taken over.
                throw new UnknownOutcomeException($"Storage did not answer while upload {claimed.Id} was processed; retry.", failure ?? new TimeoutException());
        }
    }

    /// <summary>A refused upload ends Failed; its original is removed after that (a Failed item references nothing).</summary>
    private async Task<ImageRecord> CommitRefusalAsync(ImageRecord claimed, ImageRejectedException rejection, StorageBudget budget)
    {
        var failed = claimed with { Status = ImageStatus.Failed, FailureReason = rejection.Message, ClaimedAt = null };
        ImageRecord? committed = null;
        try
        {
            // Inside the processing's budget: the reads before it may have used most of it.
            committed = await budget.RunAsync(Deadlines.StoreBudget, ct => metadata.TryUpdateAsync(failed, claimed.Version, ct), CancellationToken.None);
        }
        catch (Exception ex) when (StorageCalls.IsTransient(ex))
        {
            logger.LogWarning(ex, "Recording the refusal of {ImageId} failed", claimed.Id);
        }

        if (committed is null)
        {
            var (outcome, item) = await ResolveAsync(claimed);
            if (outcome != CommitOutcome.Committed)
            {
                throw new UnknownOutcomeException($"Storage failed while upload {claimed.Id} was refused; retry.");
            }

            committed = item!;
        }

        if (await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, budget => objects.DeleteAsync(Originals, [claimed.OriginalKey], budget)) is { } failure)
        {
            logger.LogWarning(failure, "Could not remove the refused original of {ImageId}; the sweeper will", claimed.Id);
        }

        ImageTelemetry.CountRefusal(rejection.Reason);
        logger.LogInformation("Presigned upload {ImageId} of {Owner} refused: {Reason}", claimed.Id, claimed.Owner, rejection.Message);
        return committed;
    }

    private async Task<(CommitOutcome, ImageRecord?)> ResolveAsync(ImageRecord claimed)
    {
        using var budget = new CancellationTokenSource(Deadlines.ResolveBudget, time);
        return await resolver.ResolveUpdateAsync(claimed, budget.Token);
    }

    /// <summary>Waits (bounded) for another worker's processing to end, so both callers see the same outcome.</summary>
    private async Task<ImageRecord?> WaitWhileProcessingAsync(ImageRecord image, StorageBudget budget, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + Deadlines.WaitForOtherWorker;
        while (image.Status == ImageStatus.Processing && !UploadRules.IsAbandonedClaim(image, time.GetUtcNow(), Limits.ClaimTimeout) && time.GetUtcNow() < deadline)
        {
            await Task.Delay(StorageDeadlines.WaitPollInterval, time, cancellationToken);
            image = await budget.RunAsync(CallCap, ct => metadata.GetAsync(image.Owner, image.Id, ct), cancellationToken) ?? image;
        }

        return Effective(image);
    }

    private async Task TryReleaseAsync(ImageRecord claimed)
    {
        if (await StorageCalls.TryWithinAsync(Deadlines.RemovalBudget, time, budget => metadata.TryUpdateAsync(UploadRules.Release(claimed), claimed.Version, budget)) is { } failure)
        {
            // The claim expires after ClaimTimeout; then a retry takes it over.
            logger.LogWarning(failure, "Could not release the claim on {ImageId}", claimed.Id);
        }
    }
}
