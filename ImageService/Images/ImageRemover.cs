using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// Removes an image: first its item becomes a tombstone (a conditional write, so nothing can commit over it and
/// nothing references the objects any more), then its objects go. Objects left by a failed removal are the sweeper's.
/// </summary>
public sealed class ImageRemover(
    IImageMetadataStore metadata,
    IObjectStore objects,
    ILabelIndex labels,
    MediaSecrets media,
    IOptions<StorageOptions> storage,
    TimeProvider time,
    ILogger<ImageRemover> logger)
{
    private const int MaxConflicts = 5;

    /// <summary>Discards the item and removes the objects; false if there is no such image.</summary>
    public async Task<bool> RemoveAsync(string owner, string id, CancellationToken cancellationToken)
    {
        for (var conflicts = 0; ; conflicts++)
        {
            var item = await metadata.GetAsync(owner, id, cancellationToken);
            if (item is null || item.Status == ImageStatus.Discarded)
            {
                return false;
            }

            bool discarded;
            try
            {
                discarded = await metadata.TryDiscardAsync(owner, id, item.Version, cancellationToken);
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                // The tombstone may have been written. Without knowing, the objects must stay.
                ImageRecord? now = null;
                await StorageCalls.TryWithinAsync(storage.Value.Deadlines.RemovalBudget, time, async budget => now = await metadata.GetAsync(owner, id, budget));
                if (now is not { Status: ImageStatus.Discarded })
                {
                    throw;
                }

                discarded = true;
            }

            if (!discarded)
            {
                // Either the item changed (a worker committed), or the SDK retried our own applied write.
                var now = await metadata.GetAsync(owner, id, cancellationToken);
                discarded = now is { Status: ImageStatus.Discarded } && now.Version == item.Version + 1;
            }

            if (discarded)
            {
                if (await StorageCalls.TryWithinAsync(storage.Value.Deadlines.RemovalBudget, time, budget => RemoveObjectsAsync(owner, id, budget)) is { } failure)
                {
                    logger.LogWarning(failure, "Could not remove the objects of image {ImageId} yet; the sweeper will", id);
                }

                // After the tombstone: an entry left behind shows nothing, and a label search that meets it removes it.
                if (item.Analysis?.LabelNames() is { Count: > 0 } names
                    && await StorageCalls.TryWithinAsync(storage.Value.Deadlines.RemovalBudget, time, budget => labels.RemoveAsync(owner, id, names, budget)) is { } unindexed)
                {
                    logger.LogInformation(unindexed, "Label entries of deleted image {ImageId} stay for now; they show nothing", id);
                }

                logger.LogInformation("Image {ImageId} of {Owner} deleted", id, owner);
                return true;
            }

            if (conflicts >= MaxConflicts)
            {
                throw new UnknownOutcomeException($"Image {id} kept changing while it was being deleted; retry the delete.");
            }
        }
    }

    /// <summary>
    /// Makes sure no item of this id lives and its objects are gone, whatever happened before (a refused upload whose
    /// create may land late, or an orphan found by the sweeper). Throws while storage does not answer.
    /// </summary>
    public async Task EnsureGoneAsync(string owner, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var item = await metadata.GetAsync(owner, id, cancellationToken);
            if (item is { Status: not ImageStatus.Discarded })
            {
                if (await RemoveAsync(owner, id, cancellationToken))
                {
                    return;
                }

                continue;
            }

            if (item is not null || await metadata.TryDiscardAsync(owner, id, null, cancellationToken))
            {
                await RemoveObjectsAsync(owner, id, cancellationToken);
                return;
            }
        }
    }

    /// <summary>Removes every object of one image (the original and all attempts' renditions); its item must be a tombstone.</summary>
    public async Task RemoveObjectsAsync(string owner, string id, CancellationToken cancellationToken)
    {
        var mediaKey = await media.MediaKeyOfAsync(owner, cancellationToken);
        foreach (var (bucket, prefix) in new[]
        {
            (storage.Value.OriginalsBucket, ImageKeys.OriginalOf(owner, id)),
            (storage.Value.RenditionsBucket, ImageKeys.RenditionsOf(mediaKey, id)),
            // Renditions stored before media keys existed.
            (storage.Value.RenditionsBucket, ImageKeys.RenditionsOf(owner, id)),
        })
        {
            var keys = new List<string>();
            await foreach (var stored in objects.ListAsync(bucket, prefix, cancellationToken))
            {
                keys.Add(stored.Key);
            }

            await objects.DeleteAsync(bucket, keys, cancellationToken);
        }
    }
}
