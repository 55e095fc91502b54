using System.Diagnostics;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// The waits every upload has, done in Lambda's init phase, beside the host's start, instead of in the first invocation:
/// the media secrets loaded (in AWS read from SSM Parameter Store; every upload derives the owner's media key from
/// them), the processing settings read (and cached, as every upload reads them), the S3 client built and a connection
/// opened. Lambda hands out the first invocation only after init, so the Runtime API loop waits for this before its
/// first <c>/next</c>, at most <see cref="Limit"/>. Nothing it does is stored or traced, and a failure only leaves the
/// work to the first invocation. CPU work (libvips, the pipeline) is left out on purpose: measured, running it here took
/// the cores from the host's start and made both the <c>/health</c> cold start and the first upload slower.
/// </summary>
public sealed class LambdaInitWork(IServiceProvider services, ILogger<LambdaInitWork> logger)
{
    /// <summary>The longest the first <c>/next</c> waits for it (Lambda allows 10 s of init).</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(3);

    // Under a prefix no upload can use (image keys are originals/{sub}/{id}.{ext}); only ever read.
    private const string ProbeKey = "originals/.init";

    private Task? _work;

    /// <summary>Starts the work once; later calls do nothing.</summary>
    public void Start() => _work ??= Task.Run(RunAsync);

    /// <summary>Waits for the work to end (at once if it never started), at most <see cref="Limit"/>; never throws.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        if (_work is not null)
        {
            await _work.WaitAsync(Limit, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunAsync()
    {
        // Not the work of any invocation: its storage calls make no spans.
        using var suppressed = SuppressInstrumentationScope.Begin();
        var started = Stopwatch.GetTimestamp();
        using var deadline = new CancellationTokenSource(Limit);
        await Task.WhenAll(
            AttemptAsync("Loading the media secrets", () => services.GetRequiredService<MediaSecrets>().GetAsync(deadline.Token).AsTask()),
            AttemptAsync("Reading the settings", () => services.GetRequiredService<ISettingsStore>().GetAsync(deadline.Token)),
            // Denied or missing alike: the connection is what is wanted.
            AttemptAsync("Opening a connection to S3", () => services.GetRequiredService<IObjectStore>()
                .HeadAsync(services.GetRequiredService<IOptions<StorageOptions>>().Value.OriginalsBucket, ProbeKey, deadline.Token)));
        logger.LogInformation("Init work done in {Milliseconds:0} ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private async Task AttemptAsync(string what, Func<Task> work)
    {
        try
        {
            await Task.Run(work);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Nothing is kept from a failure: the first invocation does it again and reports what fails as it always does.
            logger.LogWarning(ex, "{What} during init failed; the first invocation will", what);
        }
    }
}
