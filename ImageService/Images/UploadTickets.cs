using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>A presigned upload handed to the caller.</summary>
public sealed record PresignedUpload(ImageRecord Image, string UploadUrl, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ExpiresAt);

/// <summary>
/// <c>POST /api/uploads</c>: a Pending item and a PUT URL signed for its key, content type and exact size, creating the
/// object only. What happens once the object is there is <see cref="PresignedUploads"/>'.
/// </summary>
public sealed class UploadTickets(
    IObjectStore objects,
    IImageMetadataStore metadata,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<UploadTickets> logger)
{
    private ProcessingOptions Limits => processing.Value;

    private StorageDeadlines Deadlines => storage.Value.Deadlines;

    public async Task<PresignedUpload> CreateAsync(string owner, string? fileName, string? contentType, long size, CancellationToken cancellationToken)
    {
        var format = ImageFormats.FromContentType(contentType) ?? throw new ImageRejectedException(
            RejectionReason.UnsupportedFormat,
            contentType?.Contains("heic", StringComparison.OrdinalIgnoreCase) == true || contentType?.Contains("heif", StringComparison.OrdinalIgnoreCase) == true
                ? ImageFormats.HeicRefusal
                : $"The content type '{contentType}' is not accepted; use image/jpeg, image/png, image/webp, image/avif or image/gif.");
        if (size <= 0)
        {
            throw new ImageRejectedException(RejectionReason.Empty, "The size must be a positive number of bytes.");
        }

        if (size > Limits.MaxPresignedUploadBytes)
        {
            throw new ImageRejectedException(RejectionReason.TooLarge, $"The file is {size} bytes; the limit is {Limits.MaxPresignedUploadBytes} bytes.");
        }

        var now = time.GetUtcNow();
        var id = ImageId.New(now);
        var expiresAt = now + Limits.PresignedUploadExpiry;
        var image = new ImageRecord
        {
            Owner = owner,
            Id = id,
            Status = ImageStatus.Pending,
            FileName = ImageProcessor.CleanFileName(fileName),
            OriginalKey = ImageKeys.Original(owner, id, format.Extension()),
            ContentType = format.ContentType(),
            Bytes = size,
            ExpectedBytes = size,
            UploadExpiresAt = expiresAt,
            CreatedAt = now,
            UpdatedAt = now,
        };

        // A failed condition on a new id is the SDK retrying our own applied create. (A create that lands after a
        // 503 leaves an upload nobody was told of: it reads Failed once its URL expired.)
        var budget = new StorageBudget(Deadlines.ProcessingBudget, time);
        if (!await budget.RunAsync(Deadlines.CallCap, ct => metadata.TryCreateAsync(image, ct), cancellationToken)
            && await budget.RunAsync(Deadlines.CallCap, ct => metadata.GetAsync(owner, id, ct), cancellationToken) is not { Status: ImageStatus.Pending })
        {
            throw new UnknownOutcomeException($"Image {id} could not be created; retry.");
        }

        var put = objects.PresignPut(storage.Value.OriginalsBucket, image.OriginalKey, image.ContentType, size, expiresAt);
        logger.LogInformation("Presigned upload {ImageId} for {Owner}: {Bytes} bytes of {ContentType}", id, owner, size, image.ContentType);
        return new PresignedUpload(image with { Version = 1 }, put.Url, put.Headers, expiresAt);
    }
}
