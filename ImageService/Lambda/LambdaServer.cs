using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Images;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace ImageAspire.ImageService.Lambda;

/// <summary>The invocation failed in a way Lambda should see (it retries S3 events, API Gateway answers 502).</summary>
public sealed class LambdaInvocationException : Exception
{
    public LambdaInvocationException() { }

    public LambdaInvocationException(string message) : base(message) { }

    public LambdaInvocationException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// An <see cref="IServer"/> that serves Lambda invocations instead of sockets: API Gateway events (HTTP API 2.0,
/// REST 1.0) become ASP.NET Core requests through the whole middleware pipeline, S3 notifications go to the
/// <see cref="S3EventProcessor"/>, EventBridge's schedule runs the sweep, and the redrive command's invocation
/// (<c>{"action":"redrive-failed-events"}</c>) runs the <see cref="FailedEventRedrive"/>. The Runtime API loop runs when
/// <c>AWS_LAMBDA_RUNTIME_API</c> is set.
/// </summary>
public sealed class LambdaServer(IServiceProvider services, IConfiguration configuration, ILogger<LambdaServer> logger) : IServer
{
    private Func<LambdaInvocation, CancellationToken, Task<byte[]>>? _handler;
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public IFeatureCollection Features { get; } = new FeatureCollection();

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
    {
        _handler = (invocation, ct) => InvokeAsync(application, invocation, ct);
        if (configuration["AWS_LAMBDA_RUNTIME_API"] is { Length: > 0 } runtimeApi)
        {
            _stopping = new CancellationTokenSource();
            var http = new HttpClient { BaseAddress = new Uri($"http://{runtimeApi}"), Timeout = Timeout.InfiniteTimeSpan };
            var loop = new LambdaRuntimeLoop(new LambdaRuntimeClient(http), HandleAsync, logger, AfterAnswerAsync);
            var init = services.GetService<LambdaInitWork>();
            var stopping = _stopping.Token;
            _loop = Task.Run(async () =>
            {
                // Init ends before the first /next, as in Lambda, where the first invocation is handed out after init.
                if (init is not null)
                {
                    await init.WaitAsync(stopping);
                }

                await loop.RunAsync(stopping);
            }, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    /// <summary>Handles one invocation payload and returns the response payload (tests call this directly).</summary>
    public Task<byte[]> HandleAsync(LambdaInvocation invocation, CancellationToken cancellationToken) =>
        (_handler ?? throw new InvalidOperationException("The server has not started."))(invocation, cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is not null)
        {
            await _stopping.CancelAsync();
        }

        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stopping?.Dispose();

    // Analyses that outlast their upload's answer are stored before the next invocation is asked for (the sandbox is not
    // frozen until then); within the invocation's deadline, after which they stay due for the sweep. Then telemetry.
    private async Task AfterAnswerAsync(CancellationToken deadline)
    {
        await services.GetRequiredService<AnalysesInFlight>().DrainAsync(deadline);
        FlushTelemetry();
    }

    // Metrics (EMF lines) and spans (to X-Ray) leave before the sandbox is frozen. The EMF reader first and on its own: it
    // only writes to stdout, and a slow exporter must not use up its time. Bounded, so a slow endpoint costs at most this.
    // The meter provider is not flushed as a whole: that would collect the EMF reader a second time, and the OTLP metrics
    // (the local dashboard's only; AWS gets the EMF lines) keep their own export interval.
    private void FlushTelemetry()
    {
        const int timeoutMilliseconds = 2000;
        services.GetService<ImageAspire.ImageService.Telemetry.EmfMetricReader>()?.Collect(timeoutMilliseconds);
        services.GetService<TracerProvider>()?.ForceFlush(timeoutMilliseconds);
    }

    private async Task<byte[]> InvokeAsync<TContext>(IHttpApplication<TContext> application, LambdaInvocation invocation, CancellationToken cancellationToken)
        where TContext : notnull
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var envelope = Read(invocation.Payload, LambdaJsonContext.Default.LambdaEventEnvelope);
        if (envelope.IsS3Notification)
        {
            var notification = Read(invocation.Payload, ImageServiceJsonContext.Default.S3EventNotification);
            return await RunConsumerAsync("s3-event", invocation, async scope =>
            {
                var outcome = await scope.GetRequiredService<S3EventProcessor>().ProcessAsync(notification, cancellationToken);
                // Reported, not swallowed: the invocation fails and Lambda retries the event (processing is idempotent).
                return outcome.Succeeded ? outcome : throw new LambdaInvocationException(outcome.Describe());
            }, ImageServiceJsonContext.Default.S3EventOutcome);
        }

        if (envelope.IsApiGateway)
        {
            var request = envelope.IsHttpApiV2
                ? ApiGatewayRequest.FromHttpApi(Read(invocation.Payload, LambdaJsonContext.Default.HttpApiV2Event))
                : ApiGatewayRequest.FromRestApi(Read(invocation.Payload, LambdaJsonContext.Default.RestApiV1Event));
            using var features = new InvocationFeatures(request, invocation, cancellationToken);
            return await features.ProcessAsync(application);
        }

        if (envelope.IsScheduledEvent)
        {
            return await RunConsumerAsync("sweep", invocation, scope => OrphanSweeper.ScheduledAsync(
                scope.GetRequiredService<OrphanSweeper>(), scope.GetRequiredService<ImageAnalyses>(), scope.GetRequiredService<IOptions<SweeperOptions>>().Value, cancellationToken),
                ImageServiceJsonContext.Default.SweepReport);
        }

        if (envelope.IsRedrive)
        {
            return await RunConsumerAsync("redrive", invocation, scope => scope.GetRequiredService<FailedEventRedrive>().RedriveAsync(envelope.StartAfter, cancellationToken),
                ImageServiceJsonContext.Default.RedriveReport);
        }

        throw new LambdaInvocationException("The payload is neither an API Gateway event, an S3 notification, a scheduled event nor a redrive.");
    }

    private static T Read<T>(byte[] payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, type) ?? throw new LambdaInvocationException("The payload is null.");
        }
        catch (JsonException ex)
        {
            throw new LambdaInvocationException($"The payload cannot be read as {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// An invocation that is not an HTTP request: its own DI scope (as ASP.NET Core gives each request one), a consumer
    /// span continuing the invocation's trace, and the report as the response.
    /// </summary>
    private async Task<byte[]> RunConsumerAsync<TReport>(string spanName, LambdaInvocation invocation, Func<IServiceProvider, Task<TReport>> work, JsonTypeInfo<TReport> report)
    {
        await using var scope = services.CreateAsyncScope();
        using var activity = Processing.ImageTelemetry.Source.StartActivity(spanName, ActivityKind.Consumer, XRayTraceHeader.ParentContext(invocation.TraceId));
        return JsonSerializer.SerializeToUtf8Bytes(await work(scope.ServiceProvider), report);
    }
}
