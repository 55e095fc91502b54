namespace ImageAspire.ImageService.Images;

/// <summary>What became of one object-created record.</summary>
public sealed record S3RecordResult(string Key, string? ImageId, string? Status);

/// <summary>A record that could not be processed, and why.</summary>
public sealed record S3RecordFailure(string Key, string Error);

/// <summary>What became of a whole notification: every record is tried, and it succeeded only if none failed.</summary>
public sealed record S3EventOutcome(IReadOnlyList<S3RecordResult> Processed, IReadOnlyList<S3RecordFailure> Failed)
{
    public bool Succeeded => Failed.Count == 0;

    public string Describe() => $"{Failed.Count} S3 record(s) failed: {string.Join("; ", Failed.Select(f => $"{f.Key}: {f.Error}"))}";
}

/// <summary>Handles one object-created record (the seam tests replace).</summary>
public interface IObjectCreatedHandler
{
    Task<S3RecordResult> HandleAsync(S3ObjectEvent record, CancellationToken cancellationToken);
}

/// <summary>Object-created records go to the presigned-upload processor (owner and id come from the key alone).</summary>
public sealed class PresignedUploadObjectCreatedHandler(PresignedUploads uploads) : IObjectCreatedHandler
{
    public async Task<S3RecordResult> HandleAsync(S3ObjectEvent record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var image = await uploads.ProcessObjectCreatedAsync(record.Bucket, record.Key, cancellationToken);
        return new S3RecordResult(record.Key, image?.Id, image?.Status.ToString());
    }
}

/// <summary>
/// The one processor of S3 notifications, for the Lambda entry point and the local webhook alike. One failure rule:
/// every record is tried (processing is idempotent), and a notification with a failed record fails as a whole, so
/// its sender delivers it again (Lambda retries the asynchronous invocation; the local S3 retries the webhook).
/// </summary>
public sealed class S3EventProcessor(IObjectCreatedHandler handler, ILogger<S3EventProcessor> logger)
{
    public async Task<S3EventOutcome> ProcessAsync(S3EventNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var processed = new List<S3RecordResult>();
        var failed = new List<S3RecordFailure>();
        foreach (var record in notification.ObjectCreatedRecords())
        {
            try
            {
                processed.Add(await handler.HandleAsync(record, cancellationToken));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "S3 record {Key} failed", record.Key);
                failed.Add(new S3RecordFailure(record.Key, ex.Message));
            }
        }

        return new S3EventOutcome(processed, failed);
    }
}
