using System.ComponentModel.DataAnnotations;
using ImageAspire.ImageService.Extensions;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Storage;

/// <summary>
/// Every deadline that bounds how long a request may wait on S3 and DynamoDB (configuration <c>Storage:Deadlines</c>).
/// Together they promise an answer — a result or a 503 — before API Gateway gives up (<see cref="ApiGatewayTimeout"/>)
/// however storage misbehaves; <see cref="WorstAnswer"/> is that promise computed, and start-up refuses settings that break it.
/// </summary>
public sealed class StorageDeadlines
{
    /// <summary>API Gateway's integration timeout: after it the client gets a 504 whatever the function does.</summary>
    public static readonly TimeSpan ApiGatewayTimeout = TimeSpan.FromSeconds(29);

    /// <summary>How often a caller that waits for another worker's processing reads the item again.</summary>
    public static readonly TimeSpan WaitPollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The S3 client's timeout per try (it tries twice).</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan S3Timeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>The DynamoDB client's timeout per try (it tries twice).</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan DynamoDbTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>All the storage calls of one presigned upload's processing, up to and including its commit.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan ProcessingBudget { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>One call of that processing outside the commit (the item, the object's head, the claim, the original).</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan CallCap { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>The writes of an upload: its renditions (and original) and the commit of its item.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan StoreBudget { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>The confirmation of a direct upload's item, the write after which the caller is told <c>201</c>.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan ConfirmCap { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// How long a direct upload's item may wait for its confirmation before the sweep may discard it: longer than any
    /// request lives (API Gateway: 29 s; the function: 90 s). Not a correctness bound — the discard is conditional, so
    /// a confirmation that lands first always wins — only when the sweep starts trying.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan ConfirmWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Learning the outcome of a write whose answer was lost.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan ResolveBudget { get; set; } = TimeSpan.FromSeconds(7);

    /// <summary>A best-effort clean-up after a failure (removing staged objects, releasing a claim); what is left is the sweeper's.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan RemovalBudget { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How long a caller waits for another worker's processing of the same upload to end.</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan WaitForOtherWorker { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>Retry-After</c> of a 503 for unavailable storage.</summary>
    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan StorageRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>Retry-After</c> of a 503 for a full pipeline or an upload another worker is processing.</summary>
    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan BusyRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The longest a request can wait on storage, path by path:
    /// a direct upload stores (its create the last write of the store budget), confirms, then resolves a lost
    /// confirmation and removes what it stored;
    /// a presigned upload spends its processing budget (which holds the commit), then resolves, then cleans up;
    /// or it spends that budget reading, then waits for the worker that holds the claim.
    /// </summary>
    public TimeSpan WorstAnswer => new[]
    {
        StoreBudget + ConfirmCap + ResolveBudget + RemovalBudget,
        ProcessingBudget + ResolveBudget + RemovalBudget,
        ProcessingBudget + WaitForOtherWorker + WaitPollInterval,
    }.Max();
}

/// <summary>Checks that the deadlines hold together and answer before API Gateway gives up (their ranges are the generated validator's).</summary>
public sealed class StorageDeadlinesValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var deadlines = options.Deadlines;
        var errors = new List<string>();
        if (deadlines.StoreBudget > deadlines.ProcessingBudget)
        {
            errors.Add($"Storage:Deadlines:StoreBudget ({deadlines.StoreBudget}) must not exceed ProcessingBudget ({deadlines.ProcessingBudget}), which holds it.");
        }

        if (deadlines.CallCap > deadlines.ProcessingBudget)
        {
            errors.Add($"Storage:Deadlines:CallCap ({deadlines.CallCap}) must not exceed ProcessingBudget ({deadlines.ProcessingBudget}).");
        }

        if (deadlines.WorstAnswer >= StorageDeadlines.ApiGatewayTimeout)
        {
            errors.Add($"Storage:Deadlines allow a request to wait {deadlines.WorstAnswer.TotalSeconds:0.#} s on storage; API Gateway gives up at {StorageDeadlines.ApiGatewayTimeout.TotalSeconds:0} s.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
