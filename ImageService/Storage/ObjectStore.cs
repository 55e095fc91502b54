using Amazon.S3;
using Amazon.S3.Model;

namespace ImageAspire.ImageService.Storage;

/// <summary>The S3 operations the service needs, nothing more (and so nothing more in its IAM policy).</summary>
public interface IObjectStore
{
    Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken);

    /// <summary>The object's size and content type, or null when it does not exist.</summary>
    Task<(long Size, string? ContentType)?> HeadAsync(string bucket, string key, CancellationToken cancellationToken);

    Task<byte[]> GetAsync(string bucket, string key, long maxBytes, CancellationToken cancellationToken);

    Task DeleteAsync(string bucket, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>Every object under <paramref name="prefix"/>, with when it was written.</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken);

    /// <summary>
    /// A PUT URL for exactly this key, content type and size (all signed), which only creates the object,
    /// so a used URL cannot overwrite a processed original; the client must send the headers returned with it.
    /// </summary>
    PresignedPut PresignPut(string bucket, string key, string contentType, long contentLength, DateTimeOffset expiresAt);
}

public static class ObjectStoreExtensions
{
    /// <summary>The object's bytes, or null when it does not exist (an original deleted meanwhile, say).</summary>
    public static async Task<byte[]?> GetIfExistsAsync(this IObjectStore objects, string bucket, string key, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(objects);
        return await objects.HeadAsync(bucket, key, cancellationToken) is null ? null : await objects.GetAsync(bucket, key, maxBytes, cancellationToken);
    }
}

public sealed record StoredObject(string Key, DateTimeOffset LastModified);

/// <summary>A presigned PUT: the URL and the signed headers the request must carry (besides its body's length).</summary>
public sealed record PresignedPut(string Url, IReadOnlyDictionary<string, string> Headers);

public sealed class S3ObjectStore(IAmazonS3 s3) : IObjectStore
{
    public async Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        // Wrap the caller's bytes rather than copy them (originals are up to 50 MB).
        using var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = stream,
            ContentType = contentType,
            AutoCloseStream = false,
        };
        if (cacheControl is not null)
        {
            request.Headers.CacheControl = cacheControl;
        }

        foreach (var (name, value) in metadata ?? new Dictionary<string, string>())
        {
            request.Metadata[name] = value;
        }

        await s3.PutObjectAsync(request, cancellationToken);
    }

    public async Task<(long Size, string? ContentType)?> HeadAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await s3.GetObjectMetadataAsync(bucket, key, cancellationToken);
            return (head.ContentLength, head.Headers.ContentType);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<byte[]> GetAsync(string bucket, string key, long maxBytes, CancellationToken cancellationToken)
    {
        using var response = await s3.GetObjectAsync(bucket, key, cancellationToken);
        if (response.ContentLength > maxBytes)
        {
            throw new InvalidDataException($"Object {key} is larger than {maxBytes} bytes.");
        }

        using var buffer = new MemoryStream((int)Math.Max(0, response.ContentLength));
        await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    public async Task DeleteAsync(string bucket, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        // One call per key: DeleteObjects needs Content-MD5, which the local emulator and some gateways mishandle.
        foreach (var key in keys)
        {
            await s3.DeleteObjectAsync(bucket, key, cancellationToken);
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, ContinuationToken = token }, cancellationToken);
            foreach (var item in page.S3Objects ?? [])
            {
                yield return new StoredObject(item.Key, item.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime()) : DateTimeOffset.MinValue);
            }

            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    public PresignedPut PresignPut(string bucket, string key, string contentType, long contentLength, DateTimeOffset expiresAt)
    {
        var request = new GetPreSignedUrlRequest
        {
            BucketName = bucket,
            Key = key,
            Verb = HttpVerb.PUT,
            ContentType = contentType,
            Expires = expiresAt.UtcDateTime,
            Protocol = s3.Config.ServiceURL?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
        };

        // Signing the length makes S3 refuse a body of any other size, so the announced size is the limit.
        request.Headers.ContentLength = contentLength;
        request.Headers["If-None-Match"] = "*";
        return new PresignedPut(s3.GetPreSignedURL(request), new Dictionary<string, string>
        {
            ["Content-Type"] = contentType,
            ["If-None-Match"] = "*",
        });
    }
}
