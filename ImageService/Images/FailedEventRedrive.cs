using System.Text.Json;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// The record Lambda writes to an on-failure destination for an asynchronous invocation that failed every attempt
/// (or grew too old): the event itself in <c>requestPayload</c>, and why it was given up on.
/// </summary>
public sealed record FailedInvocationRecord(string? Version, string? Timestamp, FailedInvocationContext? RequestContext, JsonElement RequestPayload);

public sealed record FailedInvocationContext(string? RequestId, string? FunctionArn, string? Condition, int ApproximateInvokeCount);

/// <summary>
/// What one redrive run did. <see cref="More"/> says records are left to try: the next run starts after <see cref="Next"/>,
/// so records that fail again do not keep a run from reaching the ones behind them.
/// </summary>
public sealed record RedriveReport(int Redriven, int StillFailing, int Unreadable, bool More, string? Next);

/// <summary>
/// Processes again the S3 events Lambda gave up on, from the failure bucket: each record's event goes through the same
/// <see cref="S3EventProcessor"/> as a fresh delivery, and the record is deleted only once its event succeeded. So a
/// redrive is idempotent: processing an event twice is what Lambda's own retries already do (a processed upload
/// answers as it is), and a record whose delete was lost is simply processed again by the next run. Records it
/// cannot read, and events that fail again, stay for a later run or a person.
/// </summary>
public sealed class FailedEventRedrive(IObjectStore objects, S3EventProcessor processor, IOptions<StorageOptions> storage, ILogger<FailedEventRedrive> logger)
{
    /// <summary>Records tried per run, so one run finishes well within the function's timeout.</summary>
    public const int RecordsPerRun = 50;

    // Lambda's asynchronous payloads are at most 1 MB; the record adds the response.
    private const long MaxRecordBytes = 2 * 1024 * 1024;

    /// <summary>Tries the records after <paramref name="startAfter"/> (all when null), in key order, up to <see cref="RecordsPerRun"/>.</summary>
    public async Task<RedriveReport> RedriveAsync(string? startAfter, CancellationToken cancellationToken)
    {
        var bucket = storage.Value.FailedEventsBucket is { Length: > 0 } configured
            ? configured
            : throw new InvalidOperationException("Storage:FailedEventsBucket is not configured: there is no failure bucket to redrive from.");
        var (redriven, stillFailing, unreadable, tried) = (0, 0, 0, 0);
        var last = startAfter;
        // The whole bucket: it holds nothing but Lambda's records (under aws/lambda/async/<function>/<date>/…).
        await foreach (var stored in objects.ListAsync(bucket, string.Empty, cancellationToken))
        {
            // S3 lists keys in binary (UTF-8) order, which ordinal comparison of these ASCII keys follows.
            if (startAfter is not null && string.CompareOrdinal(stored.Key, startAfter) <= 0)
            {
                continue;
            }

            if (tried == RecordsPerRun || cancellationToken.IsCancellationRequested)
            {
                return new RedriveReport(redriven, stillFailing, unreadable, More: true, Next: last);
            }

            tried++;
            try
            {
                switch (await RedriveOneAsync(bucket, stored.Key, cancellationToken))
                {
                    case RecordOutcome.Redriven: redriven++; break;
                    case RecordOutcome.StillFailing: stillFailing++; break;
                    default: unreadable++; break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Out of time (the invocation's deadline): this record is the next run's first.
                return new RedriveReport(redriven, stillFailing, unreadable, More: true, Next: last);
            }

            last = stored.Key;
        }

        return new RedriveReport(redriven, stillFailing, unreadable, More: false, Next: null);
    }

    private enum RecordOutcome { Redriven, StillFailing, Unreadable }

    private async Task<RecordOutcome> RedriveOneAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        var notification = Read(await objects.GetAsync(bucket, key, MaxRecordBytes, cancellationToken));
        if (notification is null)
        {
            logger.LogWarning("Failed-event record {Key} holds no S3 event; left for a person to look at", key);
            return RecordOutcome.Unreadable;
        }

        var outcome = await processor.ProcessAsync(notification, cancellationToken);
        if (!outcome.Succeeded)
        {
            logger.LogWarning("Failed-event record {Key} failed again and stays: {Failure}", key, outcome.Describe());
            return RecordOutcome.StillFailing;
        }

        await objects.DeleteAsync(bucket, [key], cancellationToken);
        logger.LogInformation("Failed-event record {Key} redriven", key);
        return RecordOutcome.Redriven;
    }

    /// <summary>The S3 event of a record, or null when the record is not one Lambda wrote for an S3 event.</summary>
    public static S3EventNotification? Read(byte[] record)
    {
        try
        {
            var parsed = JsonSerializer.Deserialize(record, ImageServiceJsonContext.Default.FailedInvocationRecord);
            if (parsed?.RequestPayload.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var notification = parsed.RequestPayload.Deserialize(ImageServiceJsonContext.Default.S3EventNotification);
            return notification?.ObjectCreatedRecords().Count > 0 ? notification : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
