using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>Reading and deleting a user's images; every item is shown as it reads now (see <see cref="UploadRules.Effective"/>).</summary>
public sealed class ImageLibrary(IImageMetadataStore metadata, ImageRemover remover, IOptions<ProcessingOptions> processing, TimeProvider time)
{
    public async Task<ImageRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken) =>
        ImageId.IsValid(id) ? Effective(await metadata.GetAsync(owner, id, cancellationToken)) : null;

    public async Task<ImagePage> ListAsync(string owner, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var page = await metadata.ListAsync(owner, limit, cursor, cancellationToken);
        return page with { Items = page.Items.Select(Effective).OfType<ImageRecord>().ToList() };
    }

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
