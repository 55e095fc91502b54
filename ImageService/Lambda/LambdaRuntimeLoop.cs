namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// The Runtime API loop: take the next invocation, run it with its deadline as cancellation, post the answer or
/// the error; until the server stops. One invocation at a time, as Lambda gives a sandbox. After each answer and before
/// asking for the next, <paramref name="afterInvocation"/> runs (telemetry is flushed there: between invocations Lambda
/// freezes the process, so a background exporter would send late or never).
/// </summary>
public sealed class LambdaRuntimeLoop(LambdaRuntimeClient runtime, Func<LambdaInvocation, CancellationToken, Task<byte[]>> handle, ILogger logger, Action? afterInvocation = null)
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
                afterInvocation?.Invoke();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning(ex, "Flushing telemetry after {RequestId} failed", invocation.RequestId);
            }
        }
    }

    private async Task RunOneAsync(LambdaInvocation invocation, CancellationToken stopping)
    {
        var remaining = invocation.Deadline - DateTimeOffset.UtcNow - AnswerMargin;
        using var deadline = new CancellationTokenSource(remaining > TimeSpan.FromMilliseconds(1) ? remaining : TimeSpan.FromMilliseconds(1));
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
