using ImageAspire.ImageService.Storage;

namespace ImageAspire.ImageService.Images;

public enum CommitOutcome
{
    /// <summary>The item names this attempt: its objects are referenced and must stay.</summary>
    Committed,

    /// <summary>The commit did not happen and can no longer happen: its objects may be removed.</summary>
    NotCommitted,

    /// <summary>Storage did not answer in time: nothing may be removed yet.</summary>
    Unknown,
}

/// <summary>
/// Learns whether a commit whose answer was lost (a timeout, a dropped connection, or a conditional check failure
/// that may come from the SDK retrying a write that was applied) took effect. It reads the item (strongly
/// consistent) and, if the commit could still land, fences it with a conditional write of its own, so that the
/// answer stays true afterwards.
/// </summary>
public sealed class CommitResolver(IImageMetadataStore metadata, TimeProvider time, ILogger<CommitResolver> logger)
{
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(250);

    /// <summary>The create of a direct upload's item (its id is new, so any live item with it is ours).</summary>
    public async Task<(CommitOutcome Outcome, ImageRecord? Item)> ResolveCreateAsync(string owner, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var item = await metadata.GetAsync(owner, id, cancellationToken);
                if (item is not null)
                {
                    return item.Status == ImageStatus.Discarded ? (CommitOutcome.NotCommitted, null) : (CommitOutcome.Committed, item);
                }

                // No item yet, but the create may be held somewhere: a tombstone makes it fail its condition.
                if (await metadata.TryDiscardAsync(owner, id, null, cancellationToken))
                {
                    return (CommitOutcome.NotCommitted, null);
                }
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "The outcome of creating image {ImageId} is unknown", id);
                    return (CommitOutcome.Unknown, null);
                }

                await DelayAsync(cancellationToken);
            }
        }
    }

    /// <summary>The update of a claimed item (at <c>claimed.Version</c>, naming <c>claimed.Attempt</c>) to its result.</summary>
    public async Task<(CommitOutcome Outcome, ImageRecord? Item)> ResolveUpdateAsync(ImageRecord claimed, ImageRecord released, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        while (true)
        {
            try
            {
                var item = await metadata.GetAsync(claimed.Owner, claimed.Id, cancellationToken);
                if (item is { Status: ImageStatus.Ready or ImageStatus.Failed } && item.Attempt == claimed.Attempt)
                {
                    return (CommitOutcome.Committed, item);
                }

                if (item is null || item.Version != claimed.Version || item.Attempt != claimed.Attempt)
                {
                    // Every commit is conditional on the claim's version, and the item has left it (or another
                    // worker's claim holds that version: then ours never landed).
                    return (CommitOutcome.NotCommitted, item);
                }

                if (await metadata.TryUpdateAsync(released, claimed.Version, cancellationToken) is { } fenced)
                {
                    return (CommitOutcome.NotCommitted, fenced);
                }
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "The outcome of committing image {ImageId} (attempt {Attempt}) is unknown", claimed.Id, claimed.Attempt);
                    return (CommitOutcome.Unknown, null);
                }

                await DelayAsync(cancellationToken);
            }
        }
    }

    private async Task DelayAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Backoff, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The next call sees the cancelled token and reports Unknown.
        }
    }
}
