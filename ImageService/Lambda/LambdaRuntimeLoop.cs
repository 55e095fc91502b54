namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// The Runtime API loop: take the next invocation, run it with its deadline as cancellation, post the answer or
/// the error; until the server stops. One invocation at a time, as Lambda gives a sandbox. After each answer and before
/// asking for the next, <paramref name="afterInvocation"/> runs with a token cancelled at the invocation's deadline: the
/// caller already has its answer, and the sandbox is not frozen until <c>/next</c> is called, so work that may end after
/// the answer ends there (and telemetry is flushed: between invocations Lambda freezes the process, so a background
/// exporter would send late or never).
/// </summary>
public sealed class LambdaRuntimeLoop(LambdaRuntimeClient runtime, Func<LambdaInvocation, CancellationToken, Task<byte[]>> handle, ILogger logger, Func<CancellationToken, Task>? afterInvocation = null)
{
    /// <summary>The deadline is moved this much earlier, so there is time to answer before Lambda cuts the invocation off.</summary>
    public static readonly TimeSpan AnswerMargin = TimeSpan.FromMilliseconds(250);

    public async Task RunAsync(CancellationToken stopping)
    {
        logger.LogInformation("Serving Lambda invocations from the Runtime API");
        while (!stopping.IsCancellationRequested)
        {
            LambdaInvocation invocation;
            try
            {
                invocation = await runtime.NextAsync(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException ex)
            {
                logger.LogError(ex, "The Runtime API is unreachable");
                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            await RunOneAsync(invocation, stopping);
            try
            {
                if (afterInvocation is not null)
                {
                    using var deadline = new CancellationTokenSource(Remaining(invocation));
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopping);
                    await afterInvocation(linked.Token);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning(ex, "The work after {RequestId}'s answer failed", invocation.RequestId);
            }
        }
    }

    private static TimeSpan Remaining(LambdaInvocation invocation)
    {
        var remaining = invocation.Deadline - DateTimeOffset.UtcNow - AnswerMargin;
        return remaining > TimeSpan.FromMilliseconds(1) ? remaining : TimeSpan.FromMilliseconds(1);
    }

    private async Task RunOneAsync(LambdaInvocation invocation, CancellationToken stopping)
    {
        using var deadline = new CancellationTokenSource(Remaining(invocation));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopping);
        LambdaInvocationScope.Begin(invocation);
        try
        {
            var response = await handle(invocation, linked.Token);
            await runtime.RespondAsync(invocation.RequestId, response, stopping);
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            logger.LogError(ex, "Invocation {RequestId} failed", invocation.RequestId);
            try
            {
                await runtime.ReportInvocationErrorAsync(invocation.RequestId, ex, stopping);
            }
            catch (HttpRequestException reportError)
            {
                logger.LogError(reportError, "Could not report the failure of {RequestId}", invocation.RequestId);
            }
        }
        finally
        {
            LambdaInvocationScope.End();
        }
    }
}
