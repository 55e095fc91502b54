using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>Reading and deleting a user's images; every item is shown as it reads now (see <see cref="UploadRules.Effective"/>).</summary>
public sealed class ImageLibrary(
    IImageMetadataStore metadata,
    ILabelIndex labels,
    ImageRemover remover,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<ImageLibrary> logger)
{
    public async Task<ImageRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken) =>
        ImageId.IsValid(id) ? Effective(await metadata.GetAsync(owner, id, cancellationToken)) : null;

    public async Task<ImagePage> ListAsync(string owner, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var page = await metadata.ListAsync(owner, limit, cursor, cancellationToken);
        return page with { Items = page.Items.Select(Effective).OfType<ImageRecord>().ToList() };
    }

    /// <summary>
    /// The images carrying <paramref name="label"/> (or carrying a label it is a parent of), newest first. Each entry is
    /// checked against the image's item, read strongly consistent: only a live image whose analysis names the label is
    /// shown. An entry of a deleted image, or of an id that never became an image, is removed on the way; a page may
    /// therefore hold fewer than <paramref name="limit"/> images while the cursor still moves on.
    /// </summary>
    public async Task<ImagePage> ListByLabelAsync(string owner, string label, int limit, string? cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(label);
        var page = await labels.FindAsync(owner, label, limit, cursor, cancellationToken);
        var items = (await metadata.GetManyAsync(owner, page.Ids, cancellationToken)).ToDictionary(i => i.Id, StringComparer.Ordinal);
        var shown = new List<ImageRecord>(page.Ids.Count);
        var stale = new List<string>();
        foreach (var id in page.Ids)
        {
            var item = items.GetValueOrDefault(id);
            if (item is { Status: not ImageStatus.Discarded } && item.Analysis?.HasLabel(label) == true && Effective(item) is { } image)
            {
                shown.Add(image);
            }
            else if (item is { Status: ImageStatus.Discarded } || (item is null && IsAbandoned(id)))
            {
                stale.Add(id);
            }

            // A live image without the label keeps its entry: a retry of its analysis may be about to name it.
        }

        foreach (var id in stale)
        {
            if (await StorageCalls.TryWithinAsync(storage.Value.Deadlines.RemovalBudget, time, budget => labels.RemoveAsync(owner, id, [label], budget)) is { } failure)
            {
                logger.LogInformation(failure, "A stale label entry of image {ImageId} stays for now", id);
            }
        }

        return new ImagePage(shown, page.NextCursor);
    }

    /// <summary>The user's labels and how many images carry each, from their entries (at most the first 5,000 read).</summary>
    public Task<IReadOnlyList<(string Label, int Images)>> LabelsAsync(string owner, CancellationToken cancellationToken) =>
        labels.SummarizeAsync(owner, 5000, cancellationToken);

    /// <summary>
    /// An id with label entries but no item, older than a tombstone lives: its create never landed (a create that may
    /// still land is fenced by a tombstone, and a write is never held that long).
    /// </summary>
    private bool IsAbandoned(string id) => ImageId.IsValid(id) && ImageId.TimeOf(id) + ImageRecord.TombstoneLifetime < time.GetUtcNow();

    /// <summary>Discards the item, then removes its objects; false if there is no such image.</summary>
    public Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken) =>
        ImageId.IsValid(id) ? remover.RemoveAsync(owner, id, cancellationToken) : Task.FromResult(false);

    private ImageRecord? Effective(ImageRecord? image) => UploadRules.Effective(image, time.GetUtcNow(), processing.Value.ClaimTimeout);
}

/// <summary><c>complete</c> was called before the object was uploaded.</summary>
public sealed class UploadNotFoundException : Exception
{
    public UploadNotFoundException(string id) : base($"Nothing has been uploaded for image {id} yet; PUT the file to the upload URL first.") { }

    public UploadNotFoundException() { }

    public UploadNotFoundException(string message, Exception inner) : base(message, inner) { }
}
