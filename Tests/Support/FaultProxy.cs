using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Tests.Support;

/// <summary>How the proxy mistreats a request.</summary>
public enum ProxyFault
{
    /// <summary>The connection is reset before the request reaches the store: nothing applied.</summary>
    ResetBeforeForwarding,

    /// <summary>The store applies the request, then the connection is reset: the answer is lost.</summary>
    ForwardThenReset,

    /// <summary>The request is held until the client has given up, then forwarded: applied late.</summary>
    HoldThenForwardLate,

    /// <summary>The answer arrives a few bytes at a time, slower than the client waits.</summary>
    TrickleAnswer,

    /// <summary>The request waits <see cref="FaultProxy.Hold"/>, then is forwarded and answered as usual: a slow service.</summary>
    DelayThenForward,
}

/// <summary>One request as the proxy saw it: enough to match a storage call.</summary>
public sealed record ProxiedRequest(string Method, string PathAndQuery, string? Target, string Body)
{
    /// <summary>The DynamoDB operation (<c>PutItem</c>, ...), from <c>X-Amz-Target</c>.</summary>
    public string? Operation => Target?.Split('.') is [_, var op] ? op : null;

    public override string ToString() => Operation is { } op ? $"{op} {Body[..Math.Min(Body.Length, 120)]}" : $"{Method} {PathAndQuery}";
}

/// <summary>
/// An HTTP proxy between the image service and one emulator that tests control: the next requests matching a rule
/// get a fault. It keeps the Host header, so SigV4 signatures still verify behind it.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, AutomaticDecompression = DecompressionMethods.None })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private readonly ConcurrentQueue<Task> _late = new();
    private readonly Lock _lock = new();
    private (Func<ProxiedRequest, bool> Match, ProxyFault Fault, int Remaining)? _rule;

    private FaultProxy(WebApplication app) => _app = app;

    /// <summary>Where the emulator is (resolved per request: a restarted emulator keeps its port).</summary>
    public Func<Uri>? Target { get; set; }

    /// <summary>How long a held request waits before it is forwarded; longer than the SDK's per-call timeout.</summary>
    public TimeSpan Hold { get; set; } = TimeSpan.FromSeconds(7);

    public Uri Address { get; private set; } = null!;

    /// <summary>Every request that got a fault, in order.</summary>
    public ConcurrentQueue<(ProxiedRequest Request, ProxyFault Fault)> Faulted { get; } = new();

    public static async Task<FaultProxy> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        var proxy = new FaultProxy(builder.Build());
        proxy._app.Run(proxy.ForwardAsync);
        await proxy._app.StartAsync();
        proxy.Address = new Uri(proxy._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return proxy;
    }

    /// <summary>The next <paramref name="times"/> requests matching <paramref name="match"/> get <paramref name="fault"/>.</summary>
    public void Inject(Func<ProxiedRequest, bool> match, ProxyFault fault, int times = 1)
    {
        lock (_lock)
        {
            Faulted.Clear();
            _rule = (match, fault, times);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _rule = null;
        }
    }

    /// <summary>Waits until every held request has been forwarded (and so applied by the store).</summary>
    public async Task LandHeldRequestsAsync()
    {
        while (_late.TryDequeue(out var late))
        {
            await late;
        }
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var seen = new ProxiedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
            context.Request.Headers["X-Amz-Target"].FirstOrDefault(), context.Request.Headers["X-Amz-Target"].Count > 0 ? System.Text.Encoding.UTF8.GetString(body) : string.Empty);

        ProxyFault? fault = null;
        lock (_lock)
        {
            if (_rule is { } rule && rule.Match(seen))
            {
                fault = rule.Fault;
                _rule = rule.Remaining > 1 ? rule with { Remaining = rule.Remaining - 1 } : null;
            }
        }

        if (fault is { } f)
        {
            Faulted.Enqueue((seen, f));
        }

        switch (fault)
        {
            case ProxyFault.ResetBeforeForwarding:
                context.Abort();
                return;
            case ProxyFault.HoldThenForwardLate:
                // The client gives up while the store has not seen the request; it is applied afterwards.
                var late = Task.Run(async () =>
                {
                    await Task.Delay(Hold);
                    using var message = CreateMessage(context.Request, body);
                    using var _ = await _upstream.SendAsync(message);
                });
                _late.Enqueue(late);
                await late;
                context.Abort();
                return;
            case ProxyFault.DelayThenForward:
                await Task.Delay(Hold, context.RequestAborted);
                break;
        }

        HttpResponseMessage response;
        try
        {
            using var message = CreateMessage(context.Request, body);
            response = await _upstream.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException)
        {
            // The emulator is down: the client sees what it would see without the proxy, a failed connection.
            context.Abort();
            return;
        }

        using (response)
        {
            var answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
            if (fault == ProxyFault.ForwardThenReset)
            {
                context.Abort();
                return;
            }

            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(header.Key))
                {
                    context.Response.Headers[header.Key] = header.Value.ToArray();
                }
            }

            if (HttpMethods.IsHead(context.Request.Method))
            {
                // A HEAD answer has no body, but its Content-Length is the object's size.
                context.Response.Headers.ContentLength = response.Content.Headers.ContentLength;
                return;
            }

            context.Response.Headers.ContentLength = answer.Length;
            if (fault == ProxyFault.TrickleAnswer)
            {
                context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                for (var offset = 0; offset < answer.Length && !context.RequestAborted.IsCancellationRequested; offset += 4)
                {
                    await context.Response.Body.WriteAsync(answer.AsMemory(offset, Math.Min(4, answer.Length - offset)), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(TimeSpan.FromSeconds(1), context.RequestAborted);
                }

                return;
            }

            await context.Response.Body.WriteAsync(answer, context.RequestAborted);
        }
    }

    private HttpRequestMessage CreateMessage(HttpRequest request, byte[] body)
    {
        var target = Target?.Invoke() ?? throw new InvalidOperationException("The proxy has no target yet.");
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(target, request.Path + request.QueryString))
        {
            Content = body.Length > 0 || request.ContentLength is not null ? new ByteArrayContent(body) : null,
            Version = HttpVersion.Version11,
        };
        foreach (var header in request.Headers)
        {
            if (HopByHop.Contains(header.Key) || header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray()))
            {
                message.Content?.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
            }
        }

        // SigV4 signs the Host header: keep the one the client signed.
        message.Headers.Host = request.Host.Value;
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
