using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace ImageAspire.ImageService.Lambda;

/// <summary>One invocation handed out by the Lambda Runtime API.</summary>
public sealed record LambdaInvocation(string RequestId, byte[] Payload, DateTimeOffset Deadline, string? FunctionArn, string? TraceId);

/// <summary>The Lambda Runtime API (2018-06-01): next invocation, response, invocation error, init error.</summary>
public sealed class LambdaRuntimeClient(HttpClient http)
{
    private const string Prefix = "/2018-06-01/runtime";

    public async Task<LambdaInvocation> NextAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri($"{Prefix}/invocation/next", UriKind.Relative), HttpCompletionOption.ResponseContentRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        var payload = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var requestId = Header(response, "Lambda-Runtime-Aws-Request-Id") ?? throw new InvalidOperationException("The Runtime API sent no request id.");
        var deadline = long.TryParse(Header(response, "Lambda-Runtime-Deadline-Ms"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.UtcNow.AddMinutes(15);
        return new LambdaInvocation(requestId, payload, deadline, Header(response, "Lambda-Runtime-Invoked-Function-Arn"), Header(response, "Lambda-Runtime-Trace-Id"));
    }

    public async Task RespondAsync(string requestId, byte[] payload, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(new Uri($"{Prefix}/invocation/{Uri.EscapeDataString(requestId)}/response", UriKind.Relative), content, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public Task ReportInvocationErrorAsync(string requestId, Exception error, CancellationToken cancellationToken) =>
        PostErrorAsync($"{Prefix}/invocation/{Uri.EscapeDataString(requestId)}/error", error, cancellationToken);

    public Task ReportInitErrorAsync(Exception error, CancellationToken cancellationToken) =>
        PostErrorAsync($"{Prefix}/init/error", error, cancellationToken);

    private async Task PostErrorAsync(string path, Exception error, CancellationToken cancellationToken)
    {
        var type = error.GetType().Name;
        var body = new LambdaError(error.Message, type, [.. (error.StackTrace ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())]);
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, LambdaJsonContext.Default.LambdaError));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.Add("Lambda-Runtime-Function-Error-Type", $"Unhandled.{type}");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
