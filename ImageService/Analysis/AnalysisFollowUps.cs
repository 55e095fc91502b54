using System.Collections.Concurrent;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Analysis;

/// <summary>
/// Analyses that end after their upload's answer: the answer does not wait for Rekognition (the image reads
/// <c>Pending</c> and is due), and each is stored here when it ends. In web mode that happens in the background; in
/// Lambda the runtime loop waits for <see cref="DrainAsync"/> after posting the answer and before asking for the next
/// invocation, as a custom runtime may (API Gateway has its answer; the sandbox is not frozen until <c>/next</c>).
/// If the process dies first, the image stays due and the sweep analyses it once its lease lapses.
/// </summary>
public sealed class AnalysisFollowUps(ImageAnalyses analyses, AnalysesInFlight inFlight, IOptions<StorageOptions> storage, TimeProvider time, ILogger<AnalysisFollowUps> logger)
{
    /// <summary>How many analyses are still to be stored.</summary>
    public int Running => inFlight.Count;

    /// <summary>Stores <paramref name="analysis"/> on the confirmed <paramref name="image"/> once it ends.</summary>
    public void Start(ImageRecord image, Task<ImageAnalysis> analysis)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(analysis);
        inFlight.Track(FinishAsync(image, analysis));
    }

    /// <summary>Waits until every analysis started so far is stored (or left due), or until <paramref name="cancellationToken"/>.</summary>
    public Task DrainAsync(CancellationToken cancellationToken) => inFlight.DrainAsync(cancellationToken);

    private async Task FinishAsync(ImageRecord image, Task<ImageAnalysis> analysis)
    {
        try
        {
            var result = await analysis;
            using var activity = ImageAspire.ImageService.Processing.ImageTelemetry.Source.StartActivity("analysis-after-answer");
            activity?.SetTag("image.id", image.Id);
            if (await StorageCalls.TryWithinAsync(storage.Value.Deadlines.StoreBudget, time, budget => analyses.CompleteAsync(image, result, budget)) is { } failure)
            {
                logger.LogWarning(failure, "The analysis of image {ImageId} was not stored: storage did not answer. It stays due; the sweep analyses it again", image.Id);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogError(ex, "The analysis of image {ImageId} was not stored. It stays due; the sweep analyses it again", image.Id);
        }
    }
}

/// <summary>
/// The follow-ups still running, apart from <see cref="AnalysisFollowUps"/> and with no dependencies of its own: the host
/// starts it (to drain on shutdown) and the Lambda loop drains it after every answer, and neither should build the
/// analysis services (storage clients, libvips) on the way — in Lambda that would put them on the host's start, before
/// the first invocation, instead of beside it.
/// </summary>
public sealed class AnalysesInFlight : IHostedService
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    public int Count => _running.Count;

    public void Track(Task run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _running.TryAdd(run, 0);
        // Removed when it ends; a run that ended before it was added is removed here at once.
        _ = run.ContinueWith(done => _running.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (!_running.IsEmpty && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(_running.Keys).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>On shutdown, the analyses under way are stored if they end within the host's shutdown timeout.</summary>
    Task IHostedService.StopAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);
}
