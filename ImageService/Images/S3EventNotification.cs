using System.Net;
using System.Text.Json;

namespace ImageAspire.ImageService.Images;

/// <summary>One object record of an S3 event notification (the <c>Records[].s3</c> shape S3 sends to Lambda).</summary>
public sealed record S3ObjectEvent(string EventName, string Bucket, string Key, long Size);

public static class S3EventNotification
{
    /// <summary>True when the JSON is an S3 notification (<c>Records[].s3</c>).</summary>
    public static bool IsS3Notification(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("Records", out var records)
        && records.ValueKind == JsonValueKind.Array
        && records.EnumerateArray().Any(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("s3", out _));

    /// <summary>The object-created records; keys are URL-decoded (S3 encodes them, spaces as '+').</summary>
    public static IReadOnlyList<S3ObjectEvent> ObjectCreatedRecords(JsonElement root)
    {
        var result = new List<S3ObjectEvent>();
        if (!root.TryGetProperty("Records", out var records) || records.ValueKind != JsonValueKind.Array)
        {
            return result;
        }

        foreach (var record in records.EnumerateArray())
        {
            if (record.ValueKind != JsonValueKind.Object
                || !record.TryGetProperty("eventName", out var name) || name.ValueKind != JsonValueKind.String
                || !name.GetString()!.StartsWith("ObjectCreated:", StringComparison.Ordinal)
                || !record.TryGetProperty("s3", out var s3)
                || !s3.TryGetProperty("bucket", out var bucket) || !bucket.TryGetProperty("name", out var bucketName)
                || !s3.TryGetProperty("object", out var obj) || !obj.TryGetProperty("key", out var key))
            {
                continue;
            }

            var size = obj.TryGetProperty("size", out var sizeElement) && sizeElement.TryGetInt64(out var s) ? s : 0;
            result.Add(new S3ObjectEvent(name.GetString()!, bucketName.GetString() ?? string.Empty, WebUtility.UrlDecode(key.GetString() ?? string.Empty), size));
        }

        return result;
    }
}
