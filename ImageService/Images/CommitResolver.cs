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
    public Task<(CommitOutcome Outcome, ImageRecord? Item)> ResolveCreateAsync(string owner, string id, CancellationToken cancellationToken) =>
        UntilAnsweredAsync(id, null, async token =>
        {
            var item = await metadata.GetAsync(owner, id, token);
            if (item is not null)
            {
                return item.Status == ImageStatus.Discarded ? (CommitOutcome.NotCommitted, null) : (CommitOutcome.Committed, item);
            }

            // No item yet, but the create may be held somewhere: a tombstone makes it fail its condition.
            return await metadata.TryDiscardAsync(owner, id, null, token) ? (CommitOutcome.NotCommitted, null) : null;
        }, cancellationToken);

    /// <summary>
    /// The update of a claimed item (at <c>claimed.Version</c>, naming <c>claimed.Attempt</c>) to its result; if it could
    /// still land, the claim is released (<see cref="UploadRules.Release"/>), which fences it.
    /// </summary>
    public Task<(CommitOutcome Outcome, ImageRecord? Item)> ResolveUpdateAsync(ImageRecord claimed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        return UntilAnsweredAsync(claimed.Id, claimed.Attempt, async token =>
        {
            var item = await metadata.GetAsync(claimed.Owner, claimed.Id, token);
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

            return await metadata.TryUpdateAsync(UploadRules.Release(claimed), claimed.Version, token) is { } fenced
                ? (CommitOutcome.NotCommitted, fenced)
                : null;
        }, cancellationToken);
    }

    /// <summary>Repeats <paramref name="step"/> (null: look again) through transient failures until it answers or the budget ends.</summary>
    private async Task<(CommitOutcome Outcome, ImageRecord? Item)> UntilAnsweredAsync(
        string id, string? attempt, Func<CancellationToken, Task<(CommitOutcome, ImageRecord?)?>> step, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                if (await step(cancellationToken) is { } answer)
                {
                    return answer;
                }
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "The outcome of committing image {ImageId} (attempt {Attempt}) is unknown", id, attempt);
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
