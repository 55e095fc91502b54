using System.Diagnostics;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// What every upload needs, done in Lambda's init phase instead of in the first invocation. Lambda hands out the first
/// invocation only after init, so the Runtime API loop waits for this before its first <c>/next</c>. Two steps, each
/// as early as it can start, beside the host's own build and start: libvips loaded and a pipeline run once on a small
/// image (every rendition's encoder, the watermark's font) as soon as Lambda mode is known; then, once the services
/// exist, the processing settings read (and cached, as every upload reads them), the media secrets loaded (in AWS read
/// from SSM Parameter Store; every upload derives the owner's media key from them), the S3 client built and its
/// connection opened, and the pipeline run with the stored settings if they differ from the defaults. Nothing it does is stored,
/// traced or counted, and a failure only leaves the work to the first invocation.
/// </summary>
public sealed class LambdaInitWork
{
    /// <summary>The longest the first <c>/next</c> waits for it (Lambda allows 10 s of init).</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(3);

    // Under a prefix no upload can use (image keys are originals/{sub}/{id}.{ext}); only ever read.
    private const string ProbeKey = "originals/.init";

    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task _libvips;
    private Task? _work;

    private LambdaInitWork()
    {
        _libvips = Task.Run(() =>
        {
            using var suppressed = SuppressInstrumentationScope.Begin();
            // The limits are the defaults': the service's own pipeline runs with the configured ones, which only bound sizes.
            new NetVipsImagePipeline(Options.Create(new ProcessingOptions())).ProcessAll(SampleImage.Value, ProcessingSettings.Default);
        });
    }

    /// <summary>Starts the first step: libvips and the pipeline, which need no service.</summary>
    public static LambdaInitWork Begin() => new();

    /// <summary>Starts the second step once (later calls do nothing): what needs the services.</summary>
    public void Continue(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        _work ??= Task.Run(() => ContinueAsync(services));
    }

    /// <summary>Waits for both steps (the first alone if the second never started), at most <see cref="Limit"/>; never throws.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken) =>
        await (_work ?? _libvips).WaitAsync(Limit, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    private async Task ContinueAsync(IServiceProvider services)
    {
        var logger = services.GetRequiredService<ILogger<LambdaInitWork>>();
        using var suppressed = SuppressInstrumentationScope.Begin();
        using var deadline = new CancellationTokenSource(Limit);
        var storageWork = StorageAsync(services, logger, deadline.Token);
        var mediaWork = MediaSecretsAsync(services, logger, deadline.Token);
        var failed = false;
        try
        {
            await _libvips;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            failed = true;
            logger.LogWarning(ex, "Loading the image pipeline during init failed; the first upload will");
        }

        var stored = await storageWork;
        if (!failed && stored is not null && !ReferenceEquals(stored, ProcessingSettings.Default))
        {
            try
            {
                // The stored settings may name encoders or a watermark the defaults do not.
                services.GetRequiredService<IImagePipeline>().ProcessAll(SampleImage.Value, stored, deadline.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning(ex, "Running the stored settings' pipeline during init failed; the first upload will");
            }
        }

        await mediaWork;
        logger.LogInformation("Init work done {Milliseconds:0} ms after it began", Stopwatch.GetElapsedTime(_started).TotalMilliseconds);
    }

    private static async Task<ProcessingSettings?> StorageAsync(IServiceProvider services, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var bucket = services.GetRequiredService<IOptions<StorageOptions>>().Value.OriginalsBucket;
            var probe = services.GetRequiredService<IObjectStore>().HeadAsync(bucket, ProbeKey, cancellationToken);
            var read = services.GetRequiredService<ISettingsStore>().GetAsync(cancellationToken);
            try
            {
                await probe;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Denied or unavailable alike: the connection is what was wanted; the first upload reports real failures.
                logger.LogDebug(ex, "The S3 probe during init failed");
            }

            return await read;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "Reading the settings during init failed; the first upload reads them");
            return null;
        }
    }

    private static async Task MediaSecretsAsync(IServiceProvider services, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await services.GetRequiredService<MediaSecrets>().GetAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not kept: the first upload loads them again and reports a failure as it always does.
            logger.LogDebug(ex, "Loading the media secrets during init failed; the first upload loads them");
        }
    }

    // Large enough for every encoder and the watermark to run; renditions are never enlarged, so they stay this small.
    private static readonly Lazy<byte[]> SampleImage = new(() =>
    {
        using var grey = NetVips.Image.Grey(320, 240);
        using var scaled = grey * 255;
        using var pixels = scaled.Cast(NetVips.Enums.BandFormat.Uchar);
        using var rgb = pixels.Bandjoin(pixels, pixels);
        return rgb.JpegsaveBuffer(q: 80);
    });
}
