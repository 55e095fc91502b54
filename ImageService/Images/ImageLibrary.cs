using System.Diagnostics;
using System.Security.Cryptography;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>A presigned upload handed to the caller.</summary>
public sealed record PresignedUpload(ImageRecord Image, string UploadUrl, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ExpiresAt);

/// <summary>
/// The use cases of a user's image library, shared by every entry point (HTTP API, S3 event, Lambda).
/// Order of writes: S3 objects first, the metadata item last, so an item never points at missing objects;
/// a failure after S3 writes removes what was written. Processing a presigned original is claimed with a
/// conditional write, so a redelivered event or a racing <c>complete</c> yields one image.
/// </summary>
public sealed class ImageLibrary(
    IImagePipeline pipeline,
    PipelineGate gate,
    IObjectStore objects,
    IImageMetadataStore metadata,
    ISettingsStore settings,
    IOptions<StorageOptions> storageOptions,
    IOptions<ProcessingOptions> processingOptions,
    TimeProvider time,
    ILogger<ImageLibrary> logger)
{
    public const string RenditionCacheControl = "public, max-age=31536000, immutable";

    private static readonly TimeSpan StoreBudget = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan CleanUpBudget = TimeSpan.FromSeconds(5);

    private StorageOptions Storage => storageOptions.Value;
    private ProcessingOptions Limits => processingOptions.Value;

    private TimeSpan ClaimTimeout => Limits.ClaimTimeout;

    public static string OriginalKey(string owner, string id, string extension) => $"originals/{owner}/{id}.{extension}";

    public static string RenditionKey(string owner, string id, string name, EncodedFormat format) => $"renditions/{owner}/{id}/{name}.{format.Extension()}";

    /// <summary>Processes and stores an image uploaded through the API.</summary>
    public async Task<ImageRecord> UploadAsync(string owner, string? fileName, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        using var activity = PipelineTelemetry.Source.StartActivity("upload");
        if (data.IsEmpty)
        {
            throw Rejected(new ImageRejectedException(RejectionReason.Empty, $"The file {Describe(fileName)}is empty."));
        }

        if (data.Length > Limits.MaxUploadBytes)
        {
            throw Rejected(new ImageRejectedException(RejectionReason.TooLarge,
                $"The file {Describe(fileName)}is {data.Length} bytes; the limit is {Limits.MaxUploadBytes} bytes. Use POST /api/uploads for larger files."));
        }

        PipelineTelemetry.BytesIn.Add(data.Length);
        var result = await RunPipelineAsync(data, cancellationToken);
        var id = ImageId.New(time.GetUtcNow());
        activity?.SetTag("image.id", id);
        var now = time.GetUtcNow();
        var image = new ImageRecord
        {
            Owner = owner,
            Id = id,
            Status = ImageStatus.Ready,
            FileName = CleanFileName(fileName),
            OriginalKey = OriginalKey(owner, id, result.SourceFormat.Extension()),
            ContentType = result.SourceFormat.ContentType(),
            Width = result.Width,
            Height = result.Height,
            Bytes = data.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(data.Span)),
            CreatedAt = now,
            UpdatedAt = now,
        };

        var written = new List<(string Bucket, string Key)>();
        try
        {
            using (PipelineTelemetry.Source.StartActivity("store"))
            {
                image = await StoreWithinBudgetAsync(async budget =>
                {
                    await objects.PutAsync(Storage.OriginalsBucket, image.OriginalKey, data, image.ContentType, null,
                        new Dictionary<string, string> { ["sha256"] = image.Sha256! }, budget);
                    written.Add((Storage.OriginalsBucket, image.OriginalKey));
                    var stored = image with { Renditions = await StoreRenditionsAsync(owner, id, result, written, budget) };
                    return await metadata.TryCreateAsync(stored, budget) ? stored : throw new InvalidOperationException($"Image {id} exists already.");
                }, cancellationToken);
            }
        }
        catch
        {
            await CleanUpAsync(written);
            throw;
        }

        PipelineTelemetry.ImagesProcessed.Add(1);
        logger.LogInformation("Image {ImageId} of {Owner} stored: {Width}x{Height} {ContentType}, {Renditions} renditions",
            id, owner, image.Width, image.Height, image.ContentType, image.Renditions.Count);
        return image with { Version = 1 };
    }

    /// <summary>Starts a presigned upload: a Pending item and a PUT URL for one key, content type and size, for a short time.</summary>
    public async Task<PresignedUpload> CreateUploadAsync(string owner, string? fileName, string? contentType, long size, CancellationToken cancellationToken)
    {
        var format = ImageFormats.FromContentType(contentType) ?? throw new ImageRejectedException(
            RejectionReason.UnsupportedFormat,
            contentType?.Contains("heic", StringComparison.OrdinalIgnoreCase) == true || contentType?.Contains("heif", StringComparison.OrdinalIgnoreCase) == true
                ? "HEIC/HEIF images are not supported; please upload a JPEG."
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
            FileName = CleanFileName(fileName),
            OriginalKey = OriginalKey(owner, id, format.Extension()),
            ContentType = format.ContentType(),
            Bytes = size,
            ExpectedBytes = size,
            UploadExpiresAt = expiresAt,
            CreatedAt = now,
            UpdatedAt = now,
        };
        if (!await metadata.TryCreateAsync(image, cancellationToken))
        {
            throw new InvalidOperationException($"Image {id} exists already.");
        }

        var put = objects.PresignPut(Storage.OriginalsBucket, image.OriginalKey, image.ContentType, size, expiresAt);
        logger.LogInformation("Presigned upload {ImageId} for {Owner}: {Bytes} bytes of {ContentType}", id, owner, size, image.ContentType);
        return new PresignedUpload(image with { Version = 1 }, put.Url, put.Headers, expiresAt);
    }

    /// <summary>The S3 event path: the owner and id come from the key alone. Unknown keys are ignored.</summary>
    public async Task<ImageRecord?> ProcessObjectCreatedAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        if (bucket != Storage.OriginalsBucket || !TryParseOriginalKey(key, out var owner, out var id))
        {
            logger.LogWarning("Ignored an object event for {Bucket}/{Key}: not an original", bucket, key);
            return null;
        }

        var image = await metadata.GetAsync(owner, id, cancellationToken);
        if (image is null || image.OriginalKey != key)
        {
            // Direct uploads write their original before their item; their event finds nothing to do.
            logger.LogInformation("No pending upload for {Key}", key);
            return null;
        }

        return await ProcessPendingAsync(image, cancellationToken);
    }

    /// <summary>The <c>complete</c> path: processes a presigned upload unless that has happened already.</summary>
    public async Task<ImageRecord?> CompleteUploadAsync(string owner, string id, CancellationToken cancellationToken)
    {
        // The stored state, not how it reads: an expired upload whose object did arrive is still processed.
        var image = ImageId.IsValid(id) ? await metadata.GetAsync(owner, id, cancellationToken) : null;
        return image is null ? null : await ProcessPendingAsync(image, cancellationToken);
    }

    public async Task<ImageRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken) =>
        ImageId.IsValid(id) ? Effective(await metadata.GetAsync(owner, id, cancellationToken)) : null;

    public async Task<ImagePage> ListAsync(string owner, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var page = await metadata.ListAsync(owner, limit, cursor, cancellationToken);
        return page with { Items = page.Items.Select(i => Effective(i)!).ToList() };
    }

    /// <summary>Removes the original, the renditions and then the item; false if there is no such image.</summary>
    public async Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken)
    {
        var image = ImageId.IsValid(id) ? await metadata.GetAsync(owner, id, cancellationToken) : null;
        if (image is null)
        {
            return false;
        }

        await objects.DeleteAsync(Storage.OriginalsBucket, [image.OriginalKey], cancellationToken);
        await objects.DeleteAsync(Storage.RenditionsBucket, image.Renditions.Select(r => r.Key).ToList(), cancellationToken);
        await metadata.DeleteAsync(owner, id, cancellationToken);
        logger.LogInformation("Image {ImageId} of {Owner} deleted", id, owner);
        return true;
    }

    public static bool TryParseOriginalKey(string key, out string owner, out string id)
    {
        owner = id = string.Empty;
        var parts = key.Split('/');
        if (parts is not ["originals", var sub, var file] || !IsSafeOwner(sub))
        {
            return false;
        }

        var dot = file.LastIndexOf('.');
        if (dot != 26 || !ImageId.IsValid(file[..dot]) || ImageFormats.FromExtension(file[(dot + 1)..]) is null)
        {
            return false;
        }

        (owner, id) = (sub, file[..dot]);
        return true;
    }

    /// <summary>Cognito subjects are UUIDs; anything else never becomes part of a key.</summary>
    public static bool IsSafeOwner(string owner) =>
        owner.Length is > 0 and <= 128 && owner.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private async Task<ImageRecord> ProcessPendingAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stale = IsAbandonedClaim(image, now);
        if (image.Status == ImageStatus.Processing && !stale)
        {
            return await WaitWhileProcessingAsync(image, cancellationToken);
        }

        if (image.Status != ImageStatus.Pending && !stale)
        {
            return Effective(image)!;
        }

        var head = await objects.HeadAsync(Storage.OriginalsBucket, image.OriginalKey, cancellationToken);
        if (head is null)
        {
            if (Effective(image)!.Status == ImageStatus.Failed)
            {
                return Effective(image)!;
            }

            throw new UploadNotFoundException(image.Id);
        }

        var claimed = await metadata.TryUpdateAsync(image with { Status = ImageStatus.Processing, ClaimedAt = now }, image.Version, cancellationToken);
        if (claimed is null)
        {
            // Someone else (the event or a concurrent complete) got there first: answer with their result.
            var current = await metadata.GetAsync(image.Owner, image.Id, cancellationToken) ?? image;
            return current.Status == ImageStatus.Processing ? await WaitWhileProcessingAsync(current, cancellationToken) : Effective(current)!;
        }

        using var activity = PipelineTelemetry.Source.StartActivity("process-upload");
        activity?.SetTag("image.id", image.Id);
        var written = new List<(string Bucket, string Key)>();
        try
        {
            if (head.Value.Size > Limits.MaxPresignedUploadBytes || (image.ExpectedBytes is { } expected && head.Value.Size != expected))
            {
                throw new ImageRejectedException(RejectionReason.TooLarge,
                    $"The uploaded object is {head.Value.Size} bytes; {image.ExpectedBytes} were announced and the limit is {Limits.MaxPresignedUploadBytes}.");
            }

            var data = await objects.GetAsync(Storage.OriginalsBucket, image.OriginalKey, Limits.MaxPresignedUploadBytes, cancellationToken);
            PipelineTelemetry.BytesIn.Add(data.Length);
            var result = await RunPipelineAsync(data, cancellationToken);
            if (result.SourceFormat.ContentType() != image.ContentType)
            {
                throw Rejected(new ImageRejectedException(RejectionReason.UnsupportedFormat,
                    $"The upload was announced as {image.ContentType} but is {result.SourceFormat.ContentType()}."));
            }

            var ready = await StoreWithinBudgetAsync(async budget =>
            {
                var renditions = await StoreRenditionsAsync(image.Owner, image.Id, result, written, budget);
                return await metadata.TryUpdateAsync(claimed with
                {
                    Status = ImageStatus.Ready,
                    Width = result.Width,
                    Height = result.Height,
                    Bytes = data.Length,
                    Sha256 = Convert.ToHexStringLower(SHA256.HashData(data)),
                    Renditions = renditions,
                    ClaimedAt = null,
                    UploadExpiresAt = null,
                }, claimed.Version, budget) ?? throw new InvalidOperationException($"Image {image.Id} changed while it was processed.");
            }, cancellationToken);
            PipelineTelemetry.ImagesProcessed.Add(1);
            logger.LogInformation("Presigned upload {ImageId} of {Owner} processed", image.Id, image.Owner);
            return ready;
        }
        catch (ImageRejectedException ex)
        {
            await CleanUpAsync([.. written, (Storage.OriginalsBucket, image.OriginalKey)]);
            var failed = await metadata.TryUpdateAsync(claimed with { Status = ImageStatus.Failed, FailureReason = ex.Message, ClaimedAt = null }, claimed.Version, CancellationToken.None);
            logger.LogInformation("Presigned upload {ImageId} of {Owner} refused: {Reason}", image.Id, image.Owner, ex.Message);
            return failed ?? claimed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Storage trouble: release the claim so a retry (the event's or the caller's) can run again.
            await CleanUpAsync(written);
            await TryReleaseAsync(claimed, image);
            logger.LogWarning(ex, "Processing upload {ImageId} failed; released for a retry", image.Id);
            throw;
        }
    }

    /// <summary>Waits (bounded) for another worker's processing to end, so both callers see the same outcome.</summary>
    private async Task<ImageRecord> WaitWhileProcessingAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(25);
        while (image.Status == ImageStatus.Processing && time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
            image = await metadata.GetAsync(image.Owner, image.Id, cancellationToken) ?? image;
        }

        return Effective(image)!;
    }

    private async Task TryReleaseAsync(ImageRecord claimed, ImageRecord original)
    {
        try
        {
            await metadata.TryUpdateAsync(original with { Version = claimed.Version, ClaimedAt = null }, claimed.Version, CancellationToken.None);
        }
        catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or HttpRequestException or TaskCanceledException or TimeoutException)
        {
            // The claim expires after ClaimTimeout; then a retry takes it over.
            logger.LogWarning(ex, "Could not release the claim on {ImageId}", original.Id);
        }
    }

    private async Task<PipelineResult> RunPipelineAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var current = await settings.GetAsync(cancellationToken);
        try
        {
            return await gate.RunAsync(() => pipeline.Process(data, current, cancellationToken), cancellationToken);
        }
        catch (ImageRejectedException ex)
        {
            throw Rejected(ex);
        }
    }

    private async Task<List<RenditionRecord>> StoreRenditionsAsync(string owner, string id, PipelineResult result, List<(string Bucket, string Key)> written, CancellationToken cancellationToken)
    {
        var records = new List<RenditionRecord>(result.Renditions.Count);
        foreach (var rendition in result.Renditions)
        {
            var key = RenditionKey(owner, id, rendition.Name, rendition.Format);
            await objects.PutAsync(Storage.RenditionsBucket, key, rendition.Data, rendition.Format.ContentType(), RenditionCacheControl, null, cancellationToken);
            written.Add((Storage.RenditionsBucket, key));
            PipelineTelemetry.BytesOut.Add(rendition.Data.Length);
            records.Add(new RenditionRecord(rendition.Name, rendition.Format.Name(), rendition.Width, rendition.Height, rendition.Data.Length, key));
        }

        return records;
    }

    /// <summary>
    /// Runs an upload's writes under one deadline: each storage call may wait the SDK's timeout times its tries, and
    /// an outage must still be answered (503) before API Gateway's 29 s integration timeout, however many calls hang.
    /// </summary>
    private async Task<T> StoreWithinBudgetAsync<T>(Func<CancellationToken, Task<T>> store, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(StoreBudget, time);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await store(budget.Token);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Storage did not answer within {StoreBudget.TotalSeconds:0} s.", ex);
        }
    }

    private async Task CleanUpAsync(IEnumerable<(string Bucket, string Key)> written)
    {
        // Bounded: when storage is down the clean-up fails as well, and the caller is waiting for its 503.
        using var budget = new CancellationTokenSource(CleanUpBudget, time);
        foreach (var group in written.GroupBy(w => w.Bucket))
        {
            try
            {
                await objects.DeleteAsync(group.Key, group.Select(w => w.Key).ToList(), budget.Token);
            }
            catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or HttpRequestException or OperationCanceledException or TimeoutException)
            {
                logger.LogWarning(ex, "Could not remove {Count} objects from {Bucket} after a failed upload", group.Count(), group.Key);
            }
        }
    }

    /// <summary>
    /// How an item reads: an upload whose URL expired and that nobody is working on (never uploaded, or its
    /// worker gave up during an outage and no retry came) is Failed, so nothing shows Pending for ever; an
    /// abandoned claim before that reads Pending, since <c>complete</c> may retry it. TTL deletion is not relied on.
    /// </summary>
    private ImageRecord? Effective(ImageRecord? image)
    {
        if (image is not { Status: ImageStatus.Pending or ImageStatus.Processing, UploadExpiresAt: { } expires })
        {
            return image;
        }

        var now = time.GetUtcNow();
        var abandoned = image.Status == ImageStatus.Pending || IsAbandonedClaim(image, now);
        return !abandoned ? image
            : now > expires + ClaimTimeout ? image with { Status = ImageStatus.Failed, FailureReason = "The upload was not completed before its URL expired." }
            : image with { Status = ImageStatus.Pending };
    }

    /// <summary>Processing, claimed longer ago than any run takes: its worker died or lost its storage.</summary>
    private bool IsAbandonedClaim(ImageRecord image, DateTimeOffset now) =>
        image.Status == ImageStatus.Processing && now - image.ClaimedAt > ClaimTimeout;

    private static ImageRejectedException Rejected(ImageRejectedException ex)
    {
        PipelineTelemetry.ImagesFailed.Add(1, new KeyValuePair<string, object?>("reason", ex.Reason.ToString()));
        Activity.Current?.SetTag("image.rejected", ex.Reason.ToString());
        return ex;
    }

    private static string? CleanFileName(string? fileName)
    {
        if (string.IsNullOrWhiteSpace(fileName))
        {
            return null;
        }

        var name = Path.GetFileName(fileName.Replace('\\', '/')).Trim();
        name = new string(name.Where(c => !char.IsControl(c)).ToArray());
        return name.Length > 200 ? name[..200] : name;
    }

    private static string Describe(string? fileName) => string.IsNullOrWhiteSpace(fileName) ? string.Empty : $"'{CleanFileName(fileName)}' ";
}

/// <summary><c>complete</c> was called before the object was uploaded.</summary>
public sealed class UploadNotFoundException : Exception
{
    public UploadNotFoundException(string id) : base($"Nothing has been uploaded for image {id} yet; PUT the file to the upload URL first.") { }

    public UploadNotFoundException() { }

    public UploadNotFoundException(string message, Exception inner) : base(message, inner) { }
}
