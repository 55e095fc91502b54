using Amazon.Runtime;

namespace ImageAspire.ImageService.Images;

/// <summary>A storage write whose outcome could not be learned: it may still be applied. Answered 503.</summary>
public sealed class UnknownOutcomeException : TimeoutException
{
    public UnknownOutcomeException() { }

    public UnknownOutcomeException(string message) : base(message) { }

    public UnknownOutcomeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Another worker holds the upload's claim: try again later (503, and a failed S3 event so it is redelivered).</summary>
public sealed class UploadInProgressException : Exception
{
    public UploadInProgressException() { }

    public UploadInProgressException(string message) : base(message) { }

    public UploadInProgressException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Deadlines for storage calls, and which failures say nothing about whether a write happened.</summary>
public static class StorageCalls
{
    /// <summary>
    /// A failure that tells nothing about whether the call was applied: a timeout, a dropped connection, a 5xx,
    /// a throttle. (A conditional check failure is an answer, not one of these.)
    /// </summary>
    public static bool IsTransient(Exception ex) =>
        ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException or OperationCanceledException;

    /// <summary>
    /// Runs <paramref name="work"/> under a deadline of its own (linked to the caller's token): every storage call
    /// may wait the SDK's timeout times its tries, and an answer must still come before API Gateway's 29 s.
    /// </summary>
    public static async Task<T> WithinAsync<T>(TimeSpan budget, TimeProvider time, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(budget, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await work(linked.Token);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Storage did not answer within {budget.TotalSeconds:0.#} s.", ex);
        }
    }

    /// <summary>
    /// A best-effort step under a short budget of its own (a removal, a release) whose failure only leaves work for the
    /// sweeper or for a claim to go stale: returns the transient failure instead of throwing it, null on success.
    /// </summary>
    public static async Task<Exception?> TryWithinAsync(TimeSpan budget, TimeProvider time, Func<CancellationToken, Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var deadline = new CancellationTokenSource(budget, time);
        try
        {
            await work(deadline.Token);
            return null;
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            return ex;
        }
    }
}

/// <summary>
/// One request's storage time, shared by its steps: each step is bounded by its own cap and by what is left, so the
/// steps together end inside the total however the time is split among them. Time spent between steps (processing,
/// waiting) is not counted.
/// </summary>
public sealed class StorageBudget(TimeSpan total, TimeProvider time)
{
    private TimeSpan _spent;

    public TimeSpan Left => total > _spent ? total - _spent : TimeSpan.Zero;

    /// <summary>Runs one step under <c>min(<paramref name="cap"/>, what is left)</c>; a step that runs out throws <see cref="TimeoutException"/>.</summary>
    public async Task<T> RunAsync<T>(TimeSpan cap, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var budget = cap < Left ? cap : Left;
        if (budget <= TimeSpan.Zero)
        {
            throw new TimeoutException($"Storage did not answer within {total.TotalSeconds:0.#} s in all.");
        }

        var started = time.GetTimestamp();
        try
        {
            return await StorageCalls.WithinAsync(budget, time, work, cancellationToken);
        }
        finally
        {
            _spent += time.GetElapsedTime(started);
        }
    }
}
