using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ImageAspire.ImageService.Images;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace ImageAspire.ImageService.Lambda;

/// <summary>Handles one object-created record of an S3 notification; the result is echoed in the invocation's answer.</summary>
public interface IObjectCreatedHandler
{
    Task<object> HandleAsync(S3ObjectEvent record, CancellationToken cancellationToken);
}

/// <summary>Object-created records go to the image library (owner and id come from the key alone).</summary>
public sealed class ImageLibraryObjectCreatedHandler(PresignedUploads uploads) : IObjectCreatedHandler
{
    public async Task<object> HandleAsync(S3ObjectEvent record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var image = await uploads.ProcessObjectCreatedAsync(record.Bucket, record.Key, cancellationToken);
        return new { key = record.Key, imageId = image?.Id, status = image?.Status.ToString() };
    }
}

/// <summary>What the invocation told the request: the authorizer's claims, trusted only because API Gateway validated them.</summary>
public sealed record LambdaInvocationFeature(string RequestId, IReadOnlyDictionary<string, string> AuthorizerClaims);

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
/// image library. The Runtime API loop runs when <c>AWS_LAMBDA_RUNTIME_API</c> is set.
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
            _loop = Task.Run(() => RunAsync(new LambdaRuntimeClient(http), _stopping.Token), CancellationToken.None);
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

    private async Task RunAsync(LambdaRuntimeClient runtime, CancellationToken stopping)
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

            // The deadline becomes the request's cancellation, a little early so there is time to answer.
            using var deadline = new CancellationTokenSource(Max(invocation.Deadline - DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1)));
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopping);
            try
            {
                var response = await HandleAsync(invocation, linked.Token);
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
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private async Task<byte[]> InvokeAsync<TContext>(IHttpApplication<TContext> application, LambdaInvocation invocation, CancellationToken cancellationToken)
        where TContext : notnull
    {
        using var document = JsonDocument.Parse(invocation.Payload);
        var root = document.RootElement;
        if (S3EventNotification.IsS3Notification(root))
        {
            return await HandleS3EventAsync(root, invocation, cancellationToken);
        }

        if (ApiGatewayRequest.IsApiGatewayEvent(root))
        {
            return await HandleHttpAsync(application, ApiGatewayRequest.Parse(root), invocation, cancellationToken);
        }

        if (IsScheduledEvent(root))
        {
            return await HandleSweepAsync(invocation, cancellationToken);
        }

        throw new LambdaInvocationException("The payload is neither an API Gateway event, an S3 notification nor a scheduled event.");
    }

    /// <summary>EventBridge's scheduled event: the template's sweep schedule.</summary>
    private static bool IsScheduledEvent(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("detail-type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "Scheduled Event"
        && root.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.String && source.GetString() == "aws.events";

    private async Task<byte[]> HandleSweepAsync(LambdaInvocation invocation, CancellationToken cancellationToken)
    {
        using var activity = Processing.ImageTelemetry.Source.StartActivity("sweep", ActivityKind.Consumer, ParentContext(invocation.TraceId));
        var report = await services.GetRequiredService<OrphanSweeper>().SweepAsync(cancellationToken);
        return JsonSerializer.SerializeToUtf8Bytes(report);
    }

    private async Task<byte[]> HandleS3EventAsync(JsonElement root, LambdaInvocation invocation, CancellationToken cancellationToken)
    {
        using var activity = Processing.ImageTelemetry.Source.StartActivity("s3-event", ActivityKind.Consumer, ParentContext(invocation.TraceId));
        var handler = services.GetRequiredService<IObjectCreatedHandler>();
        var failures = new List<string>();
        var results = new List<object>();
        foreach (var record in S3EventNotification.ObjectCreatedRecords(root))
        {
            try
            {
                results.Add(await handler.HandleAsync(record, cancellationToken));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "S3 record {Key} failed", record.Key);
                failures.Add($"{record.Key}: {ex.Message}");
            }
        }

        // Reported, not swallowed: the invocation fails and Lambda retries the event (processing is idempotent).
        if (failures.Count > 0)
        {
            throw new LambdaInvocationException($"{failures.Count} S3 record(s) failed: {string.Join("; ", failures)}");
        }

        return JsonSerializer.SerializeToUtf8Bytes(new { processed = results });
    }

    private static async Task<byte[]> HandleHttpAsync<TContext>(IHttpApplication<TContext> application, ApiGatewayRequest request, LambdaInvocation invocation, CancellationToken cancellationToken)
        where TContext : notnull
    {
        var features = new FeatureCollection();
        var headers = new HeaderDictionary();
        foreach (var (name, value) in request.Headers)
        {
            // The whole body is here already: framing headers of the original connection do not apply.
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                headers[name] = value;
            }
        }

        // The trace header continues the Lambda trace: X-Ray Root/Parent become a W3C traceparent.
        if (ToTraceParent(invocation.TraceId) is { } traceParent)
        {
            headers["traceparent"] = traceParent;
        }

        if (request.Body.Length > 0 || headers.ContainsKey("Content-Length"))
        {
            headers.ContentLength = request.Body.Length;
        }
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = "https",
            Method = request.Method,
            PathBase = request.PathBase,
            Path = request.Path,
            QueryString = request.QueryString,
            RawTarget = request.RawTarget,
            Headers = headers,
            Body = new MemoryStream(request.Body, writable: false),
        });
        var responseFeature = new LambdaResponseFeature();
        var responseBody = new MemoryStream();
        features.Set<IHttpResponseFeature>(responseFeature);
        features.Set<IHttpRequestBodyDetectionFeature>(new BodyDetection(request.Body.Length > 0));
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(responseBody));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = cancellationToken });
        features.Set<IHttpRequestIdentifierFeature>(new HttpRequestIdentifierFeature { TraceIdentifier = request.RequestId ?? invocation.RequestId });
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            RemoteIpAddress = IPAddress.TryParse(request.SourceIp, out var ip) ? ip : null,
            ConnectionId = invocation.RequestId,
        });
        features.Set(new LambdaInvocationFeature(invocation.RequestId, request.AuthorizerClaims));

        var context = application.CreateContext(features);
        Exception? error = null;
        try
        {
            await application.ProcessRequestAsync(context);
            await responseFeature.StartAsync();
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            await responseFeature.CompleteAsync();
            application.DisposeContext(context, error);
        }

        return JsonSerializer.SerializeToUtf8Bytes(ApiGatewayResponse.Create(request.Version, responseFeature.StatusCode, responseFeature.Headers, responseBody.ToArray()));
    }

    public static string? ToTraceParent(string? xrayTraceId)
    {
        if (string.IsNullOrEmpty(xrayTraceId))
        {
            return null;
        }

        var parts = xrayTraceId.Split(';').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        if (!parts.TryGetValue("Root", out var root) || !parts.TryGetValue("Parent", out var parent))
        {
            return null;
        }

        var rootParts = root.Split('-');
        if (rootParts.Length != 3 || rootParts[1].Length != 8 || rootParts[2].Length != 24 || parent.Length != 16)
        {
            return null;
        }

        var sampled = parts.GetValueOrDefault("Sampled") == "1" ? "01" : "00";
        return $"00-{rootParts[1]}{rootParts[2]}-{parent}-{sampled}".ToLowerInvariant();
    }

    private static ActivityContext ParentContext(string? xrayTraceId) =>
        ToTraceParent(xrayTraceId) is { } traceParent && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;

    private sealed record BodyDetection(bool CanHaveBody) : IHttpRequestBodyDetectionFeature;

    private sealed class LambdaResponseFeature : IHttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _onStarting = [];
        private readonly List<(Func<object, Task> Callback, object State)> _onCompleted = [];

        public int StatusCode { get; set; } = 200;
        public string? ReasonPhrase { get; set; }
        public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();
        public Stream Body { get; set; } = Stream.Null;
        public bool HasStarted { get; private set; }

        public void OnStarting(Func<object, Task> callback, object state) => _onStarting.Insert(0, (callback, state));

        public void OnCompleted(Func<object, Task> callback, object state) => _onCompleted.Insert(0, (callback, state));

        public async Task StartAsync()
        {
            if (HasStarted)
            {
                return;
            }

            foreach (var (callback, state) in _onStarting)
            {
                await callback(state);
            }

            HasStarted = true;
        }

        public async Task CompleteAsync()
        {
            foreach (var (callback, state) in _onCompleted)
            {
                await callback(state);
            }
        }
    }
}
