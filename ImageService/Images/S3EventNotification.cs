using System.Net;
using System.Text.Json.Serialization;

namespace ImageAspire.ImageService.Images;

/// <summary>An S3 event notification, as S3 sends it to Lambda and the local S3 to the webhook.</summary>
public sealed record S3EventNotification([property: JsonPropertyName("Records")] IReadOnlyList<S3EventRecord?>? Records)
{
    /// <summary>The object-created records; keys are URL-decoded (S3 encodes them, spaces as '+').</summary>
    public IReadOnlyList<S3ObjectEvent> ObjectCreatedRecords() =>
        [.. (Records ?? [])
            .Where(r => r?.EventName?.StartsWith("ObjectCreated:", StringComparison.Ordinal) == true
                && r.S3?.Bucket?.Name is not null && r.S3.StoredObject?.Key is not null)
            .Select(r => new S3ObjectEvent(r!.EventName!, r.S3!.Bucket!.Name!, WebUtility.UrlDecode(r.S3.StoredObject!.Key!), r.S3.StoredObject.Size ?? 0))];
}

public sealed record S3EventRecord(string? EventName, S3EventEntity? S3);

public sealed record S3EventEntity(S3EventBucket? Bucket, [property: JsonPropertyName("object")] S3EventObject? StoredObject);

public sealed record S3EventBucket(string? Name);

public sealed record S3EventObject(string? Key, long? Size);

/// <summary>One object record of an S3 event notification.</summary>
public sealed record S3ObjectEvent(string EventName, string Bucket, string Key, long Size);
