using System.Diagnostics;
using System.Text.Json.Nodes;
using ImageAspire.ImageService.Lambda;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>The function's log lines in Lambda's JSON format, and what never reaches them.</summary>
public sealed class LambdaJsonLogTests
{
    private const string Jwt = "eyJraWQiOiJDb2duaXRvTG9jYWwiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMiLCJlbWFpbCI6ImFAYi5jb20ifQ.c2lnbmF0dXJlLWJ5dGVz";

    [Fact]
    public void A_line_carries_the_fields_Lambda_reads_and_the_invocation_and_trace_ids()
    {
        using var listener = new ActivityListener { ShouldListenTo = _ => true, Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("ImageAspire.LogTests");
        LambdaInvocationScope.Begin(new LambdaInvocation("request-1", [], DateTimeOffset.UtcNow, null, null));
        try
        {
            using var activity = source.StartActivity("invocation")!;
            var line = Write(LogLevel.Warning, "Upload {ImageId} of {Owner} refused", ["01JEXAMPLE", "sub-1"]);

            Assert.Equal("WARN", (string?)line["level"]);
            Assert.Equal("Upload 01JEXAMPLE of sub-1 refused", (string?)line["message"]);
            Assert.Equal("ImageAspire.Tests", (string?)line["logger"]);
            Assert.Equal("request-1", (string?)line["requestId"]);
            var traceId = activity.TraceId.ToHexString();
            Assert.Equal($"1-{traceId[..8]}-{traceId[8..]}", (string?)line["traceId"]);
            Assert.Equal(activity.SpanId.ToHexString(), (string?)line["spanId"]);
            Assert.Equal("01JEXAMPLE", (string?)line["ImageId"]);
            Assert.True(DateTimeOffset.TryParse((string?)line["timestamp"], out _));
        }
        finally
        {
            LambdaInvocationScope.End();
        }
    }

    [Fact]
    public async Task A_line_from_a_thread_outside_the_invocations_flow_still_carries_its_ids()
    {
        LambdaInvocationScope.Begin(new LambdaInvocation("request-2", [], DateTimeOffset.UtcNow, null, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"));
        try
        {
            // A thread that does not flow from the invocation, as libvips' workers do not.
            JsonObject? line = null;
            var thread = new Thread(() => line = Write(LogLevel.Warning, "VIPS: {Message}", ["error in tile 0 x 280"]), 256 * 1024);
            using (ExecutionContext.SuppressFlow())
            {
                thread.Start();
            }

            await Task.Run(thread.Join, TestContext.Current.CancellationToken);
            Assert.Equal("request-2", (string?)line!["requestId"]);
            Assert.Equal("1-5759e988-bd862e3fe1be46a994272793", (string?)line["traceId"]);
        }
        finally
        {
            LambdaInvocationScope.End();
        }

        Assert.Null(Write(LogLevel.Warning, "after", [])["requestId"]);
    }

    [Fact]
    public void An_exception_is_written_as_Lambdas_error_fields()
    {
        Exception thrown;
        try
        {
            throw new InvalidOperationException($"the token {Jwt} was refused");
        }
        catch (InvalidOperationException ex)
        {
            thrown = ex;
        }

        var line = Write(LogLevel.Error, "Invocation failed", [], thrown);
        Assert.Equal("ERROR", (string?)line["level"]);
        Assert.Equal("System.InvalidOperationException", (string?)line["errorType"]);
        Assert.Equal("the token [redacted-token] was refused", (string?)line["errorMessage"]);
        Assert.NotEmpty((JsonArray)line["stackTrace"]!);
        Assert.Null(line["requestId"]);
    }

    [Theory]
    [InlineData($"Authorization: Bearer {Jwt}", "Authorization: Bearer [redacted]")]
    [InlineData($"id token {Jwt} for", "id token [redacted-token] for")]
    [InlineData("signed up jane.doe+photos@example.co.uk today", "signed up [redacted-email] today")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY----- tail", "[redacted-key] tail")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC (cut)", "[redacted-key]")]
    [InlineData("key AKIAIOSFODNN7EXAMPLE used", "key [redacted-access-key] used")]
    [InlineData("Upload 01JEXAMPLE of 3f2a-sub refused: too large", "Upload 01JEXAMPLE of 3f2a-sub refused: too large")]
    public void Secrets_are_redacted_from_messages_and_values(string text, string expected)
    {
        Assert.Equal(expected, LogRedaction.Redact(text));
        var line = Write(LogLevel.Information, "{Detail}", [text]);
        Assert.Equal(expected, (string?)line["message"]);
        Assert.Equal(expected, (string?)line["Detail"]);
    }

    [Theory]
    [InlineData("WARN", LogLevel.Information, false)]
    [InlineData("WARN", LogLevel.Warning, true)]
    [InlineData("DEBUG", LogLevel.Debug, true)]
    [InlineData(null, LogLevel.Debug, false)]
    [InlineData("FATAL", LogLevel.Error, false)]
    public void Lambdas_application_log_level_decides_what_is_written(string? applicationLevel, LogLevel level, bool written)
    {
        var formatter = new LambdaJsonLogFormatter(LambdaJsonLogFormatter.MinimumLevel(applicationLevel));
        using var output = new StringWriter();
        formatter.Write(new LogEntry<string>(level, "ImageAspire.Tests", default, "text", null, (s, _) => s), null, output);
        Assert.Equal(written, output.ToString().Length > 0);
    }

    private static JsonObject Write(LogLevel level, string format, object?[] args, Exception? exception = null)
    {
        var state = new FormattedState(format, args);
        using var output = new StringWriter();
        new LambdaJsonLogFormatter(LogLevel.Trace).Write(new LogEntry<FormattedState>(level, "ImageAspire.Tests", default, state, exception, (s, _) => s.ToString()), null, output);
        Assert.EndsWith("\n", output.ToString(), StringComparison.Ordinal);
        return (JsonObject)JsonNode.Parse(output.ToString())!;
    }

    // What LoggerMessage and the logging extension methods pass as state: the values by name, and the format.
    private sealed class FormattedState(string format, object?[] args) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly List<KeyValuePair<string, object?>> _values = Names(format).Zip(args, (n, a) => KeyValuePair.Create(n, a))
            .Append(KeyValuePair.Create<string, object?>("{OriginalFormat}", format)).ToList();

        public KeyValuePair<string, object?> this[int index] => _values[index];

        public int Count => _values.Count;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _values.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString()
        {
            var text = format;
            foreach (var (name, value) in _values.SkipLast(1))
            {
                text = text.Replace("{" + name + "}", value?.ToString(), StringComparison.Ordinal);
            }

            return text;
        }

        private static IEnumerable<string> Names(string format) =>
            System.Text.RegularExpressions.Regex.Matches(format, @"\{(\w+)\}").Select(m => m.Groups[1].Value);
    }
}
