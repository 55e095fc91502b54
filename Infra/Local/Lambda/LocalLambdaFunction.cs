using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ImageAspire.LocalLambda;

/// <summary>The outcome of one invocation: the function's response payload, or its error payload.</summary>
public sealed record InvocationResult(bool IsError, byte[] Payload);

/// <summary>
/// One function behind the Lambda Runtime API (2018-06-01), as the Lambda service runs it: invocations queue
/// until the function asks for the next one; it answers with <c>/response</c> or <c>/error</c>.
/// </summary>
public sealed class LocalLambdaFunction(string functionArn = LocalLambdaFunction.DefaultArn)
{
    /// <summary>The ARN the function is told it runs as when none is configured.</summary>
    public const string DefaultArn = "arn:aws:lambda:us-east-1:000000000000:function:local-function";

    /// <summary>
    /// How long an invocation may wait for the function to take it (while it initializes or runs another one): the
    /// local service runs one instance where Lambda would start more, so waiting stands in for scaling out.
    /// </summary>
    public static readonly TimeSpan QueueTimeout = TimeSpan.FromSeconds(60);

    private sealed class Pending(string requestId, byte[] payload, TimeSpan timeout, string traceId)
    {
        public string RequestId => requestId;

        public byte[] Payload => payload;

        public TimeSpan Timeout => timeout;

        public string TraceId => traceId;

        /// <summary>Set to the deadline when the function takes the invocation; cancelled if it waited too long.</summary>
        public TaskCompletionSource<DateTimeOffset> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<InvocationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();
    private readonly ConcurrentDictionary<string, Pending> _inFlight = new();

    /// <summary>The last <c>/init/error</c> the function reported, if any.</summary>
    public string? InitError { get; private set; }

    /// <summary>
    /// Invokes the function and waits for its answer. As in Lambda, the timeout runs from when the function takes the
    /// invocation, so a cold start or a queue does not eat into it.
    /// </summary>
    public async Task<InvocationResult> InvokeAsync(byte[] payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var requestId = Guid.NewGuid().ToString();
        var traceId = $"Root=1-{DateTimeOffset.UtcNow.ToUnixTimeSeconds():x8}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12))};Parent={Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))};Sampled=1";
        var pending = new Pending(requestId, payload, timeout, traceId);
        await _queue.Writer.WriteAsync(pending, cancellationToken);
        DateTimeOffset deadline;
        try
        {
            deadline = await pending.Started.Task.WaitAsync(QueueTimeout, cancellationToken);
        }
        catch (TimeoutException) when (pending.Started.TrySetCanceled(CancellationToken.None))
        {
            // Not taken, and now it never will be: the function skips it.
            return new InvocationResult(true, """{"errorType":"TooManyRequestsException","errorMessage":"The function did not take the invocation in time"}"""u8.ToArray());
        }
        catch (OperationCanceledException) when (pending.Started.TrySetCanceled(CancellationToken.None))
        {
            throw;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Taken at the moment the wait ended: it runs, so it is waited for as any other.
            deadline = await pending.Started.Task;
        }

        try
        {
            var remaining = deadline - DateTimeOffset.UtcNow;
            return await pending.Result.Task.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken);
        }
        catch (TimeoutException)
        {
            _inFlight.TryRemove(requestId, out _);
            return new InvocationResult(true, """{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out"}"""u8.ToArray());
        }
    }

    /// <summary>Maps the Runtime API routes.</summary>
    public void MapRuntimeApi(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var runtime = endpoints.MapGroup("/2018-06-01/runtime");
        runtime.MapGet("/invocation/next", NextAsync);
        runtime.MapPost("/invocation/{requestId}/response", (string requestId, HttpRequest request) => CompleteAsync(requestId, request, isError: false));
        runtime.MapPost("/invocation/{requestId}/error", (string requestId, HttpRequest request) => CompleteAsync(requestId, request, isError: true));
        runtime.MapPost("/init/error", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            InitError = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
            return Results.Accepted();
        });
    }

    private async Task NextAsync(HttpContext context)
    {
        Pending pending;
        do
        {
            pending = await _queue.Reader.ReadAsync(context.RequestAborted);
        }
        while (pending.Started.Task.IsCompleted); // its invoker stopped waiting for it to be taken

        var deadline = DateTimeOffset.UtcNow + pending.Timeout;
        _inFlight[pending.RequestId] = pending;
        var headers = context.Response.Headers;
        headers["Lambda-Runtime-Aws-Request-Id"] = pending.RequestId;
        headers["Lambda-Runtime-Deadline-Ms"] = deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        headers["Lambda-Runtime-Invoked-Function-Arn"] = functionArn;
        headers["Lambda-Runtime-Trace-Id"] = pending.TraceId;
        context.Response.ContentType = "application/json";
        try
        {
            await context.Response.Body.WriteAsync(pending.Payload, context.RequestAborted);
            await context.Response.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The process that asked is gone (killed while it waited): the invocation goes to the next one that asks.
            _inFlight.TryRemove(pending.RequestId, out _);
            _queue.Writer.TryWrite(pending);
            return;
        }

        // Taken now; if its invoker gave up at this very moment, the function still runs it and its answer is dropped.
        pending.Started.TrySetResult(deadline);
    }

    private async Task<IResult> CompleteAsync(string requestId, HttpRequest request, bool isError)
    {
        if (!_inFlight.TryRemove(requestId, out var pending))
        {
            return Results.Json(new { errorMessage = $"Invalid request ID: {requestId}", errorType = "InvalidRequestID" }, statusCode: 400);
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
        pending.Result.TrySetResult(new InvocationResult(isError, body.ToArray()));
        return Results.Accepted();
    }
}
