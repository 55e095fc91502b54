using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Processing;

/// <summary>The pipeline's concurrency bound was exceeded; the caller should retry later (503 + Retry-After).</summary>
public sealed class PipelineBusyException : Exception
{
    public PipelineBusyException() : base("The image pipeline is busy; retry shortly.") { }

    public PipelineBusyException(string message) : base(message) { }

    public PipelineBusyException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Runs at most <see cref="ProcessingOptions.MaxConcurrentPipelines"/> pipelines at once and lets at most
/// <see cref="ProcessingOptions.MaxQueuedPipelines"/> wait; beyond that it refuses at once, so memory stays bounded.
/// </summary>
public sealed class PipelineGate(IOptions<ProcessingOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentPipelines, options.Value.MaxConcurrentPipelines);
    private readonly int _capacity = options.Value.MaxConcurrentPipelines + options.Value.MaxQueuedPipelines;
    private int _admitted;

    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            throw new PipelineBusyException();
        }

        try
        {
            await _slots.WaitAsync(cancellationToken);
            try
            {
                return await Task.Run(work, cancellationToken);
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _admitted);
        }
    }

    public void Dispose() => _slots.Dispose();
}
