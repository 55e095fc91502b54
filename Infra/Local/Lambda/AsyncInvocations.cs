using System.Globalization;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace ImageAspire.LocalLambda;

/// <summary>
/// The function's asynchronous invocation settings, from the template's <c>AWS::Lambda::EventInvokeConfig</c>:
/// retries after a failed attempt, the age after which an event is given up on, and the on-failure bucket.
/// <see cref="RetryDelay"/> stands in for Lambda's one and two minutes between attempts (it doubles each time).
/// </summary>
public sealed record AsyncInvokeConfig(int MaximumRetryAttempts, TimeSpan MaximumEventAge, string? OnFailureBucket, TimeSpan RetryDelay);

/// <summary>
/// Asynchronous invocation as Lambda does it for S3 events: the event is accepted at once, invoked, retried after a
/// failure, and when every attempt failed (or the event grew too old) an invocation record goes to the on-failure
/// destination, an S3 bucket, in the format and under the keys Lambda uses, for the redrive to read.
/// </summary>
public sealed class AsyncInvocations(
    LocalLambdaFunction function, AsyncInvokeConfig config, TimeSpan timeout, IAmazonS3 s3, string functionArn, TimeProvider time, ILogger<AsyncInvocations> logger)
{
    /// <summary>Where Lambda writes on-failure records in an S3 destination: <c>aws/lambda/async/&lt;function&gt;/yyyy/MM/dd/…</c>.</summary>
    public const string RecordsPrefix = "aws/lambda/async/";

    private readonly Lock _lock = new();
    private readonly HashSet<Task> _running = [];

    /// <summary>Accepts an event and returns its request id; it runs in the background.</summary>
    public string Enqueue(byte[] payload)
    {
        var requestId = Guid.NewGuid().ToString();
        var accepted = time.GetUtcNow();
        var run = Task.Run(() => RunAsync(requestId, payload, accepted));
        lock (_lock)
        {
            _running.Add(run);
        }

        _ = run.ContinueWith(t => { lock (_lock) { _running.Remove(t); } }, TaskScheduler.Default);
        return requestId;
    }

    /// <summary>Events accepted and not yet settled (succeeded, or recorded as failed).</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    private async Task RunAsync(string requestId, byte[] payload, DateTimeOffset accepted)
    {
        var attempts = 0;
        InvocationResult result;
        string condition;
        while (true)
        {
            attempts++;
            result = await function.InvokeAsync(payload, timeout, CancellationToken.None);
            if (!result.IsError)
            {
                return;
            }

            var (delay, givenUp) = AfterFailure(config, attempts, accepted, time.GetUtcNow());
            if (givenUp is not null)
            {
                condition = givenUp;
                break;
            }

            logger.LogWarning("Asynchronous invocation {RequestId} failed (attempt {Attempt}); retrying in {Delay}", requestId, attempts, delay);
            await Task.Delay(delay, time);
        }

        logger.LogError("Asynchronous invocation {RequestId} failed {Attempts} times ({Condition})", requestId, attempts, condition);
        if (config.OnFailureBucket is { Length: > 0 } bucket)
        {
            await WriteRecordAsync(bucket, Record(requestId, payload, result, condition, attempts), requestId);
        }
    }

    /// <summary>
    /// After attempt <paramref name="attempts"/> failed: the wait before the next one, or the condition Lambda records
    /// when there is none (every retry used, or the event would be older than its maximum age by the next attempt).
    /// </summary>
    public static (TimeSpan Delay, string? GiveUpCondition) AfterFailure(AsyncInvokeConfig config, int attempts, DateTimeOffset accepted, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (attempts > config.MaximumRetryAttempts)
        {
            return (TimeSpan.Zero, "RetriesExhausted");
        }

        var delay = config.RetryDelay * Math.Pow(2, attempts - 1);
        return now + delay - accepted > config.MaximumEventAge ? (TimeSpan.Zero, "EventAgeExceeded") : (delay, null);
    }

    /// <summary>The invocation record Lambda sends to an on-failure destination.</summary>
    public JsonObject Record(string requestId, byte[] payload, InvocationResult result, string condition, int attempts) => new()
    {
        ["version"] = "1.0",
        ["timestamp"] = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["requestContext"] = new JsonObject
        {
            ["requestId"] = requestId,
            ["functionArn"] = $"{functionArn}:$LATEST",
            ["condition"] = condition,
            ["approximateInvokeCount"] = attempts,
        },
        ["requestPayload"] = ParseOrString(payload),
        ["responseContext"] = new JsonObject
        {
            ["statusCode"] = 200,
            ["executedVersion"] = "$LATEST",
            ["functionError"] = "Unhandled",
        },
        ["responsePayload"] = ParseOrString(result.Payload),
    };

    private static JsonNode? ParseOrString(byte[] payload)
    {
        try
        {
            return JsonNode.Parse(payload);
        }
        catch (System.Text.Json.JsonException)
        {
            return System.Text.Encoding.UTF8.GetString(payload);
        }
    }

    private async Task WriteRecordAsync(string bucket, JsonObject record, string requestId)
    {
        var now = time.GetUtcNow();
        var functionName = functionArn[(functionArn.LastIndexOf(':') + 1)..];
        var key = string.Create(CultureInfo.InvariantCulture, $"{RecordsPrefix}{functionName}/{now:yyyy/MM/dd}/{now:yyyy-MM-dd'T'HH.mm.ss}-{requestId}");
        // Lambda retries a failed delivery for a while too; after that only a metric (DestinationDeliveryFailures) tells.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = bucket,
                    Key = key,
                    ContentBody = record.ToJsonString(),
                    ContentType = "application/json",
                });
                logger.LogInformation("Asynchronous invocation {RequestId}: record written to s3://{Bucket}/{Key}", requestId, bucket, key);
                return;
            }
            catch (Exception ex) when (ex is AmazonS3Exception or HttpRequestException or TaskCanceledException && attempt < 5)
            {
                logger.LogWarning(ex, "Could not write the failure record of {RequestId} (attempt {Attempt})", requestId, attempt);
                await Task.Delay(TimeSpan.FromSeconds(attempt), time);
            }
            catch (Exception ex) when (ex is AmazonS3Exception or HttpRequestException or TaskCanceledException)
            {
                logger.LogError(ex, "The failure record of {RequestId} was not delivered", requestId);
                return;
            }
        }
    }
}
