using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Support;

/// <summary>The data invariants, checked on what the emulators hold (not through the service).</summary>
public static class StoredImages
{
    public static DynamoDbImageMetadataStore Store(AppHostFixture fixture) =>
        new(fixture.DynamoDb, Options.Create(new StorageOptions { Table = fixture.Environment["ImagesTableName"] }), TimeProvider.System);

    /// <summary>Every item of the user as stored (strongly consistent), tombstones and unconfirmed items left out.</summary>
    public static async Task<List<ImageRecord>> LiveItemsAsync(AppHostFixture fixture, string sub, CancellationToken cancellationToken)
    {
        var store = Store(fixture);
        var items = new List<ImageRecord>();
        string? cursor = null;
        do
        {
            var page = await store.ListAsync(sub, 100, cursor, cancellationToken);
            // An unconfirmed item was never answered 201 and is shown to nobody; the sweep discards it.
            items.AddRange(page.Items.Where(i => i.ConfirmBy is null));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return items;
    }

    /// <summary>The objects live items reference: originals of items that are not Failed, and every listed rendition.</summary>
    public static HashSet<(string Bucket, string Key)> ReferencedObjects(IEnumerable<ImageRecord> items, string originalsBucket, string renditionsBucket)
    {
        var live = items.Where(i => i.Status is not ImageStatus.Discarded).ToList();
        return live.Where(i => i.Status is not ImageStatus.Failed).Select(i => (originalsBucket, i.OriginalKey))
            .Concat(live.SelectMany(i => i.Renditions.Select(r => (renditionsBucket, r.Key)))).ToHashSet();
    }

    /// <summary>Invariant 1: every item of the user that reads Ready has its original and every rendition it lists.</summary>
    public static async Task AssertReadyItemsAreWholeAsync(AppHostFixture fixture, string sub, CancellationToken cancellationToken)
    {
        var originals = await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", cancellationToken);
        var renditions = await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], fixture.RenditionsPrefixOf(sub), cancellationToken);
        foreach (var item in (await LiveItemsAsync(fixture, sub, cancellationToken)).Where(i => i.Status == ImageStatus.Ready))
        {
            Assert.Contains(item.OriginalKey, originals);
            Assert.Equal(6, item.Renditions.Count);
            Assert.All(item.Renditions, r => Assert.Contains(r.Key, renditions));
        }
    }

    /// <summary>
    /// Invariant 4: after a sweep (the service's own sweeper code, run here with no grace, so only when nothing is in
    /// flight) every object of the user is referenced by a live item.
    /// </summary>
    public static async Task SweepAndAssertNothingUnreferencedAsync(AppHostFixture fixture, string sub, TimeSpan claimTimeout, CancellationToken cancellationToken)
    {
        var storage = Options.Create(new StorageOptions
        {
            OriginalsBucket = fixture.Environment["OriginalsBucketName"],
            RenditionsBucket = fixture.Environment["RenditionsBucketName"],
            Table = fixture.Environment["ImagesTableName"],
        });
        var store = Store(fixture);
        var objects = new S3ObjectStore(fixture.S3);
        using var media = fixture.CreateMediaSecrets();
        var sweeper = new OrphanSweeper(objects, store, media, storage,
            Options.Create(new ProcessingOptions { ClaimTimeout = claimTimeout }), Options.Create(new SweeperOptions { Grace = TimeSpan.Zero }),
            TimeProvider.System, NullLogger<OrphanSweeper>.Instance);
        await sweeper.SweepAsync(cancellationToken);

        var referenced = ReferencedObjects(await LiveItemsAsync(fixture, sub, cancellationToken), storage.Value.OriginalsBucket, storage.Value.RenditionsBucket);
        var objectsOfUser = (await fixture.ListKeysAsync(storage.Value.OriginalsBucket, $"originals/{sub}/", cancellationToken)).Select(k => (storage.Value.OriginalsBucket, k))
            .Concat((await fixture.ListKeysAsync(storage.Value.RenditionsBucket, fixture.RenditionsPrefixOf(sub), cancellationToken)).Select(k => (storage.Value.RenditionsBucket, k)));
        Assert.All(objectsOfUser, key => Assert.Contains(key, referenced));
    }
}
