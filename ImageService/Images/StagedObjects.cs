using ImageAspire.ImageService.Storage;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// The objects one attempt wrote before its commit. If the commit is known not to have happened they are
/// removed (bounded: when storage is down the removal fails too, and the caller is waiting); whatever is left
/// is the sweeper's.
/// </summary>
public sealed class StagedObjects(IObjectStore objects, TimeSpan removalBudget, TimeProvider time, ILogger logger)
{
    private readonly List<(string Bucket, string Key)> _written = [];

    public async Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        // Recorded before the call: a PUT that timed out may still have been applied.
        _written.Add((bucket, key));
        await objects.PutAsync(bucket, key, data, contentType, cacheControl, metadata, cancellationToken);
    }

    /// <summary>Removes what was written; call only once no item can reference it.</summary>
    public async Task RemoveAsync()
    {
        using var budget = new CancellationTokenSource(removalBudget, time);
        foreach (var group in _written.GroupBy(w => w.Bucket))
        {
            try
            {
                await objects.DeleteAsync(group.Key, group.Select(w => w.Key).ToList(), budget.Token);
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                logger.LogWarning(ex, "Could not remove {Count} staged objects from {Bucket}; the sweeper will", group.Count(), group.Key);
            }
        }
    }
}
