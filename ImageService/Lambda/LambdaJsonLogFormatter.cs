using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// The invocation being served, for the log lines written while it runs: the one of the current async flow, or else the
/// one the sandbox is running. Lambda gives a sandbox one invocation at a time, so a line from a thread that does not
/// flow from it (libvips' worker threads) still belongs to it.
/// </summary>
public static class LambdaInvocationScope
{
    private static readonly AsyncLocal<LambdaInvocation?> CurrentInvocation = new();
    private static volatile LambdaInvocation? _running;

    public static LambdaInvocation? Current => CurrentInvocation.Value ?? _running;

    /// <summary>Marks the start of an invocation (in this flow and for the sandbox).</summary>
    public static void Begin(LambdaInvocation invocation)
    {
        CurrentInvocation.Value = invocation;
        _running = invocation;
    }

    /// <summary>Marks its end.</summary>
    public static void End()
    {
        CurrentInvocation.Value = null;
        _running = null;
    }

    /// <summary>The X-Ray trace id (<c>1-…-…</c>) of an invocation's trace header.</summary>
    public static string? TraceIdOf(LambdaInvocation invocation) =>
        invocation?.TraceId?.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("Root=", StringComparison.Ordinal))?[5..];
}

/// <summary>
/// Lambda's JSON log format (<c>LoggingConfig.LogFormat: JSON</c>) for a custom runtime, which writes the lines itself:
/// <c>timestamp</c>, <c>level</c> (Lambda's names), <c>message</c>, <c>logger</c>, the invocation's <c>requestId</c>, the
/// X-Ray <c>traceId</c> of the current span, the message's structured values, and <c>errorType</c>/<c>errorMessage</c>/
/// <c>stackTrace</c> for an exception. Every text is passed through <see cref="LogRedaction"/> first.
/// </summary>
public sealed class LambdaJsonLogFormatter(LogLevel minimumLevel) : ConsoleFormatter(Name)
{
    public new const string Name = "lambda-json";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        // Lambda's application log level applies over every category's configured level: nothing below it is written.
        if (logEntry.LogLevel < minimumLevel)
        {
            return;
        }

        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("level", LevelName(logEntry.LogLevel));
            json.WriteString("message", LogRedaction.Redact(message ?? string.Empty));
            json.WriteString("logger", logEntry.Category);
            if (LambdaInvocationScope.Current is { } invocation)
            {
                json.WriteString("requestId", invocation.RequestId);
            }

            if (Activity.Current is { } activity)
            {
                var traceId = activity.TraceId.ToHexString();
                json.WriteString("traceId", $"1-{traceId[..8]}-{traceId[8..]}");
                json.WriteString("spanId", activity.SpanId.ToHexString());
            }
            else if (LambdaInvocationScope.Current is { } running && LambdaInvocationScope.TraceIdOf(running) is { } invocationTrace)
            {
                json.WriteString("traceId", invocationTrace);
            }

            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key is "{OriginalFormat}" or "timestamp" or "level" or "message" or "logger" or "requestId" or "traceId" or "spanId")
                    {
                        continue;
                    }

                    json.WriteString(key, LogRedaction.Redact(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty));
                }
            }

            if (logEntry.Exception is { } exception)
            {
                json.WriteString("errorType", exception.GetType().FullName);
                json.WriteString("errorMessage", LogRedaction.Redact(exception.Message));
                json.WriteStartArray("stackTrace");
                foreach (var line in (exception.StackTrace ?? string.Empty).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    json.WriteStringValue(line);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write('\n');
    }

    /// <summary>Lambda's level names.</summary>
    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARN",
        LogLevel.Error => "ERROR",
        LogLevel.Critical => "FATAL",
        _ => "INFO",
    };

    /// <summary>The minimum level for Lambda's application log level (<c>AWS_LAMBDA_LOG_LEVEL</c>), Information when unset.</summary>
    public static LogLevel MinimumLevel(string? lambdaLevel) => lambdaLevel?.ToUpperInvariant() switch
    {
        "TRACE" => LogLevel.Trace,
        "DEBUG" => LogLevel.Debug,
        "WARN" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        "FATAL" => LogLevel.Critical,
        _ => LogLevel.Information,
    };
}


/// <summary>
/// What must never reach a log: bearer tokens and JWTs, email addresses, PEM private keys, AWS access key ids. Applied
/// to every text a log line carries, as the last line of defence behind not logging them in the first place.
/// </summary>
public static partial class LogRedaction
{
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length < 6)
        {
            return text;
        }

        text = PrivateKey().Replace(text, "[redacted-key]");
        text = Bearer().Replace(text, "Bearer [redacted]");
        text = Jwt().Replace(text, "[redacted-token]");
        text = Email().Replace(text, "[redacted-email]");
        return AccessKeyId().Replace(text, "[redacted-access-key]");
    }

    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)")]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"\b[Bb]earer\s+[A-Za-z0-9._~+/=-]+")]
    private static partial Regex Bearer();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")]
    private static partial Regex Email();

    [GeneratedRegex(@"\b(AKIA|ASIA)[0-9A-Z]{16}\b")]
    private static partial Regex AccessKeyId();
}
