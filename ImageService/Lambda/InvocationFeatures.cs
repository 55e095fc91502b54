using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace ImageAspire.ImageService.Lambda;

/// <summary>What the invocation told the request: the authorizer's claims, trusted only because API Gateway validated them.</summary>
public sealed record LambdaInvocationFeature(string RequestId, IReadOnlyDictionary<string, string> AuthorizerClaims);

/// <summary>
/// The ASP.NET Core features of one API Gateway invocation: the request as API Gateway received it, a buffered
/// response, the invocation's deadline as <c>RequestAborted</c>, and its trace header as the request's parent.
/// </summary>
public sealed class InvocationFeatures : IDisposable
{
    private readonly ApiGatewayRequest _request;
    private readonly ResponseFeature _response = new();
    private readonly MemoryStream _responseBody = new();

    public InvocationFeatures(ApiGatewayRequest request, LambdaInvocation invocation, CancellationToken deadline)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(invocation);
        _request = request;
        var headers = new HeaderDictionary();
        foreach (var (name, value) in request.Headers)
        {
            // The whole body is here already: framing headers of the original connection do not apply.
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                headers[name] = value;
            }
        }

        if (XRayTraceHeader.ToTraceParent(invocation.TraceId) is { } traceParent)
        {
            headers["traceparent"] = traceParent;
        }

        if (request.Body.Length > 0 || headers.ContainsKey("Content-Length"))
        {
            headers.ContentLength = request.Body.Length;
        }

        Collection.Set<IHttpRequestFeature>(new HttpRequestFeature
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
        Collection.Set<IHttpResponseFeature>(_response);
        Collection.Set<IHttpRequestBodyDetectionFeature>(new BodyDetection(request.Body.Length > 0));
        Collection.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(_responseBody));
        Collection.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = deadline });
        Collection.Set<IHttpRequestIdentifierFeature>(new HttpRequestIdentifierFeature { TraceIdentifier = request.RequestId ?? invocation.RequestId });
        Collection.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            RemoteIpAddress = IPAddress.TryParse(request.SourceIp, out var ip) ? ip : null,
            ConnectionId = invocation.RequestId,
        });
        Collection.Set(new LambdaInvocationFeature(invocation.RequestId, request.AuthorizerClaims));
    }

    public IFeatureCollection Collection { get; } = new FeatureCollection();

    public void Dispose() => _responseBody.Dispose();

    /// <summary>Runs the request through the application and returns API Gateway's proxy response.</summary>
    public async Task<byte[]> ProcessAsync<TContext>(IHttpApplication<TContext> application)
        where TContext : notnull
    {
        ArgumentNullException.ThrowIfNull(application);
        var context = application.CreateContext(Collection);
        Exception? error = null;
        try
        {
            await application.ProcessRequestAsync(context);
            await _response.StartAsync();
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            await _response.CompleteAsync();
            application.DisposeContext(context, error);
        }

        return ApiGatewayResponse.Serialize(_request.Version, _response.StatusCode, _response.Headers, _responseBody.ToArray());
    }

    private sealed record BodyDetection(bool CanHaveBody) : IHttpRequestBodyDetectionFeature;

    private sealed class ResponseFeature : IHttpResponseFeature
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
