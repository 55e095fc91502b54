using ImageAspire.ImageService.Storage;

namespace ImageAspire.ImageService.Images;

/// <summary>What the next worker does with a presigned upload's item.</summary>
public enum PendingStep
{
    /// <summary>Nothing to do: answer with how the item reads.</summary>
    Answer,

    /// <summary>Another worker holds a live claim: wait for its outcome.</summary>
    Wait,

    /// <summary>Claim it (it is Pending, or its claim was abandoned) and process it.</summary>
    Claim,
}

/// <summary>What may happen to the objects of one processing attempt, given the item as it is stored now.</summary>
public enum AttemptFate
{
    /// <summary>The item references them, or their worker may still commit them.</summary>
    Keep,

    /// <summary>No write can make the item reference them any more.</summary>
    Remove,

    /// <summary>An abandoned claim still names them: release the claim (a conditional write) first, then remove.</summary>
    ReleaseThenRemove,

    /// <summary>There is no item: a create may still be in flight, so fence the id with a tombstone first, then remove.</summary>
    FenceThenRemove,

    /// <summary>
    /// The item was never confirmed and its confirmation window has passed: replace it with a tombstone (a write
    /// conditional on the unconfirmed version, so a confirmation that landed first wins), then remove.
    /// </summary>
    DiscardThenRemove,
}

/// <summary>The upload state machine's rules, as pure functions of the stored item, the time and the timeouts.</summary>
public static class UploadRules
{
    /// <summary>Processing, claimed longer ago than any run takes: its worker died or lost its storage.</summary>
    public static bool IsAbandonedClaim(ImageRecord image, DateTimeOffset now, TimeSpan claimTimeout) =>
        image.Status == ImageStatus.Processing && (image.ClaimedAt is not { } claimed || now - claimed > claimTimeout);

    public static PendingStep NextStep(ImageRecord image, DateTimeOffset now, TimeSpan claimTimeout) => image.Status switch
    {
        ImageStatus.Pending => PendingStep.Claim,
        ImageStatus.Processing => IsAbandonedClaim(image, now, claimTimeout) ? PendingStep.Claim : PendingStep.Wait,
        _ => PendingStep.Answer,
    };

    /// <summary>
    /// How an item reads: an upload whose URL expired and that nobody is working on (never uploaded, or its worker
    /// gave up during an outage and no retry came) is Failed, so nothing shows Pending for ever; an abandoned claim
    /// before that reads Pending, since <c>complete</c> may retry it. Tombstones and unconfirmed items read as missing.
    /// </summary>
    public static ImageRecord? Effective(ImageRecord? image, DateTimeOffset now, TimeSpan claimTimeout)
    {
        // Unconfirmed: its caller has not been told 201, and may never be (see ImageRecord.ConfirmBy).
        if (image is null || image.Status == ImageStatus.Discarded || image.ConfirmBy is not null)
        {
            return null;
        }

        if (image is not { Status: ImageStatus.Pending or ImageStatus.Processing, UploadExpiresAt: { } expires })
        {
            return image;
        }

        var abandoned = image.Status == ImageStatus.Pending || IsAbandonedClaim(image, now, claimTimeout);
        return !abandoned ? image
            : now > expires + claimTimeout ? image with { Status = ImageStatus.Failed, FailureReason = "The upload was not completed before its URL expired." }
            : image with { Status = ImageStatus.Pending };
    }

    /// <summary>The claim a worker writes: Processing, under a new attempt, from now.</summary>
    public static ImageRecord Claim(ImageRecord image, string attempt, DateTimeOffset now) =>
        image with { Status = ImageStatus.Processing, ClaimedAt = now, Attempt = attempt, FailureReason = null };

    /// <summary>A released claim: Pending again, naming no attempt, so any attempt's objects may go.</summary>
    public static ImageRecord Release(ImageRecord claimed) =>
        claimed with { Status = ImageStatus.Pending, ClaimedAt = null, Attempt = null };

    /// <summary>
    /// Whether the objects of <paramref name="attempt"/> (written at <paramref name="writtenAt"/>) may be removed.
    /// Objects of an attempt are written only while the item names it as its claim, except a direct upload's, which
    /// are written before its item is created: those are kept for <paramref name="grace"/>, longer than a request lives.
    /// </summary>
    public static AttemptFate FateOf(ImageRecord? item, string attempt, DateTimeOffset writtenAt, DateTimeOffset now, TimeSpan claimTimeout, TimeSpan grace)
    {
        if (now - writtenAt < grace)
        {
            return AttemptFate.Keep;
        }

        if (item is null)
        {
            return AttemptFate.FenceThenRemove;
        }

        if (item.ConfirmBy is { } confirmBy && item.Status != ImageStatus.Discarded)
        {
            return now > confirmBy ? AttemptFate.DiscardThenRemove : AttemptFate.Keep;
        }

        // Renditions written before attempts existed sit directly under the id, and their items name no attempt.
        var named = item.Attempt == attempt || (attempt.Length == 0 && item.Attempt is null);
        if (item.Status == ImageStatus.Discarded || !named)
        {
            // The item moved on from this attempt (its version changed), and every commit is conditional on the version.
            return AttemptFate.Remove;
        }

        return item.Status switch
        {
            ImageStatus.Ready => AttemptFate.Keep,
            ImageStatus.Processing => IsAbandonedClaim(item, now, claimTimeout) ? AttemptFate.ReleaseThenRemove : AttemptFate.Keep,
            _ => AttemptFate.Remove,
        };
    }

    /// <summary>Whether an original may be removed: its item is gone, refused, never confirmed, or never existed (fence first then).</summary>
    public static AttemptFate FateOfOriginal(ImageRecord? item, string key, DateTimeOffset writtenAt, DateTimeOffset now, TimeSpan grace)
    {
        if (now - writtenAt < grace)
        {
            return AttemptFate.Keep;
        }

        return item switch
        {
            null => AttemptFate.FenceThenRemove,
            { ConfirmBy: { } confirmBy, Status: not ImageStatus.Discarded } => now > confirmBy ? AttemptFate.DiscardThenRemove : AttemptFate.Keep,
            { Status: ImageStatus.Discarded or ImageStatus.Failed } => AttemptFate.Remove,
            _ when item.OriginalKey != key => AttemptFate.Remove,
            _ => AttemptFate.Keep,
        };
    }
}
