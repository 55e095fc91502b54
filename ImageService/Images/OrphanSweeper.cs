using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>What one sweep saw and did.</summary>
public sealed record SweepReport(int ImagesSeen, int ObjectsRemoved, int ObjectsKept, int UnconfirmedDiscarded, int AnalysesRetried = 0);

/// <summary>
/// Removes objects no item references: attempts that lost, failed or whose outcome was unknown, originals of refused
/// or deleted images, and what a crashed worker left. Each is removed only after the item (read strongly consistent)
/// shows that no commit can reference it any more, fencing first where one still could (<see cref="UploadRules.FateOf"/>).
/// Direct uploads never confirmed within their window (refused, whatever became of the process that refused them) are
/// discarded here with their objects. Safe to run anywhere, any number of times, concurrently with everything.
/// </summary>
public sealed class OrphanSweeper(
    IObjectStore objects,
    IImageMetadataStore metadata,
    MediaSecrets media,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    IOptions<SweeperOptions> options,
    TimeProvider time,
    ILogger<OrphanSweeper> logger)
{
    public async Task<SweepReport> SweepAsync(CancellationToken cancellationToken)
    {
        var byImage = new Dictionary<(string Owner, string Id), List<(string Bucket, StoredObject Object, string? Attempt)>>();
        await foreach (var stored in objects.ListAsync(storage.Value.OriginalsBucket, ImageKeys.OriginalsPrefix, cancellationToken))
        {
            if (ImageKeys.TryParseOriginal(stored.Key, out var owner, out var id))
            {
                Add(byImage, (owner, id), (storage.Value.OriginalsBucket, stored, null));
            }
        }

        var paths = (await media.GetAsync(cancellationToken)).Paths;
        var unattributed = 0;
        // One user's renditions share one segment: decode it once per sweep, not once per object.
        var ownerOfSegment = new Dictionary<string, string?>(StringComparer.Ordinal);
        await foreach (var stored in objects.ListAsync(storage.Value.RenditionsBucket, ImageKeys.RenditionsPrefix, cancellationToken))
        {
            if (!ImageKeys.TryParseRendition(stored.Key, out var segment, out var id, out var attempt))
            {
                continue;
            }

            if (!ownerOfSegment.TryGetValue(segment, out var owner))
            {
                owner = paths.TryDecode(segment, out var decoded) ? decoded : null;
                ownerOfSegment[segment] = owner;
            }

            if (owner is not null)
            {
                Add(byImage, (owner, id), (storage.Value.RenditionsBucket, stored, attempt));
            }
            else if (MediaPathCodec.LooksLikeMediaKey(segment))
            {
                // A media key this service's path key did not make: its owner is unknown, so it is never removed.
                unattributed++;
            }
            else
            {
                // Stored before media keys existed: the segment is the owner's sub.
                Add(byImage, (segment, id), (storage.Value.RenditionsBucket, stored, attempt));
            }
        }

        if (unattributed > 0)
        {
            logger.LogWarning("Sweep: {Count} renditions under media keys of another path key were left alone", unattributed);
        }

        var (removed, kept, discarded) = (0, 0, 0);
        foreach (var ((owner, id), found) in byImage)
        {
            var (r, k, d) = await SweepImageAsync(owner, id, found, cancellationToken);
            removed += r;
            kept += k;
            discarded += d ? 1 : 0;
        }

        logger.LogInformation("Sweep: {Images} images, {Removed} objects removed, {Kept} kept, {Discarded} unconfirmed uploads discarded", byImage.Count, removed, kept, discarded);
        return new SweepReport(byImage.Count, removed, kept, discarded);
    }

    /// <summary>What the schedule runs: the sweep, then the analyses due (at most <see cref="SweeperOptions.AnalysesPerRound"/>).</summary>
    public static async Task<SweepReport> ScheduledAsync(OrphanSweeper sweeper, Analysis.ImageAnalyses analyses, SweeperOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweeper);
        ArgumentNullException.ThrowIfNull(analyses);
        ArgumentNullException.ThrowIfNull(options);
        var report = await sweeper.SweepAsync(cancellationToken);
        return report with { AnalysesRetried = await analyses.RetryDueAsync(options.AnalysesPerRound, cancellationToken) };
    }

    private async Task<(int Removed, int Kept, bool Discarded)> SweepImageAsync(string owner, string id, List<(string Bucket, StoredObject Object, string? Attempt)> found, CancellationToken cancellationToken)
    {
        var item = await metadata.GetAsync(owner, id, cancellationToken);
        var now = time.GetUtcNow();
        var discarded = false;
        var grace = options.Value.Grace;
        var removable = new List<(string Bucket, string Key)>();
        var kept = 0;
        foreach (var (bucket, stored, attempt) in found)
        {
            var fate = attempt is null
                ? UploadRules.FateOfOriginal(item, stored.Key, stored.LastModified, now, grace)
                : UploadRules.FateOf(item, attempt, stored.LastModified, now, processing.Value.ClaimTimeout, grace);
            if (fate == AttemptFate.Keep)
            {
                kept++;
                continue;
            }

            if (fate == AttemptFate.FenceThenRemove && item is null)
            {
                // A create of this id may still be in flight: a tombstone makes it fail. If one landed meanwhile, look again next time.
                if (!await metadata.TryDiscardAsync(owner, id, null, cancellationToken))
                {
                    return (0, found.Count, false);
                }

                item = await metadata.GetAsync(owner, id, cancellationToken);
            }
            else if (fate == AttemptFate.DiscardThenRemove && item is { ConfirmBy: not null, Status: not ImageStatus.Discarded } unconfirmed)
            {
                // Conditional on the unconfirmed version: a confirmation that landed first keeps the image.
                if (!await metadata.TryDiscardAsync(owner, id, unconfirmed.Version, cancellationToken))
                {
                    return (0, found.Count, false);
                }

                logger.LogInformation("Discarded image {ImageId} of {Owner}: never confirmed, so never answered 201", id, owner);
                item = await metadata.GetAsync(owner, id, cancellationToken);
                discarded = true;
            }
            else if (fate == AttemptFate.ReleaseThenRemove && item is { Status: ImageStatus.Processing } claimed && claimed.Attempt == attempt)
            {
                if (await metadata.TryUpdateAsync(UploadRules.Release(claimed), claimed.Version, cancellationToken) is not { } released)
                {
                    return (0, found.Count, false);
                }

                logger.LogInformation("Released the abandoned claim on {ImageId} (attempt {Attempt})", id, attempt);
                item = released;
            }

            removable.Add((bucket, stored.Key));
        }

        foreach (var group in removable.GroupBy(r => r.Bucket))
        {
            await objects.DeleteAsync(group.Key, group.Select(r => r.Key).ToList(), cancellationToken);
        }

        if (removable.Count > 0)
        {
            logger.LogInformation("Removed {Count} unreferenced objects of image {ImageId}", removable.Count, id);
        }

        return (removable.Count, kept, discarded);
    }

    private static void Add<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        list.Add(value);
    }
}

/// <summary>
/// Web mode only (in Lambda the schedule invokes the sweep): retries due analyses every
/// <see cref="SweeperOptions.RetryInterval"/> and sweeps the buckets every <see cref="SweeperOptions.Interval"/>.
/// </summary>
public sealed class SweeperService(OrphanSweeper sweeper, Analysis.ImageAnalyses analyses, IOptions<SweeperOptions> options, TimeProvider time, ILogger<SweeperService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextSweep = time.GetUtcNow() + options.Value.Interval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.RetryInterval, time, stoppingToken);
                if (time.GetUtcNow() >= nextSweep)
                {
                    nextSweep = time.GetUtcNow() + options.Value.Interval;
                    await OrphanSweeper.ScheduledAsync(sweeper, analyses, options.Value, stoppingToken);
                }
                else
                {
                    await analyses.RetryDueAsync(options.Value.AnalysesPerRound, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (StorageCalls.IsTransient(ex))
            {
                logger.LogWarning(ex, "Sweep failed; trying again in {Interval}", options.Value.RetryInterval);
            }
#pragma warning disable CA1031 // a background loop: any failure is logged, and the host (and the API) must keep running
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogError(ex, "Sweep failed unexpectedly; trying again in {Interval}", options.Value.RetryInterval);
            }
        }
    }
}
