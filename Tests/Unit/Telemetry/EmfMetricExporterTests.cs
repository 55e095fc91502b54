using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using ImageAspire.ImageService.Telemetry;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>The service's metrics as CloudWatch embedded metric format lines.</summary>
public sealed class EmfMetricExporterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Each_flush_writes_what_was_recorded_since_the_last_as_EMF_documents()
    {
        using var meter = new Meter($"ImageAspire.Emf.{Guid.NewGuid():N}");
        using var ignored = new Meter($"Other.{Guid.NewGuid():N}");
        var processed = meter.CreateCounter<long>("imageaspire.images.processed", "{image}");
        var failed = meter.CreateCounter<long>("imageaspire.images.failed", "{image}");
        var duration = meter.CreateHistogram<double>("imageaspire.pipeline.duration", "ms");
        var bytes = meter.CreateCounter<long>("imageaspire.bytes.out", "By");
        var output = new StringWriter();
        using var provider = Provider(output, meter.Name, ignored.Name);

        processed.Add(1);
        failed.Add(2, new KeyValuePair<string, object?>("reason", "unsupported-format"));
        duration.Record(412.5);
        bytes.Add(123_456);
        ignored.CreateCounter<long>("requests").Add(5);
        provider.ForceFlush();

        var documents = Lines(output);
        Assert.Equal(4, documents.Count);
        var byName = documents.ToDictionary(d => (string)d["_aws"]!["CloudWatchMetrics"]![0]!["Metrics"]![0]!["Name"]!);
        Assert.Equal(["imageaspire.bytes.out", "imageaspire.images.failed", "imageaspire.images.processed", "imageaspire.pipeline.duration"], byName.Keys.Order());

        var failure = byName["imageaspire.images.failed"];
        Assert.Equal(Now.ToUnixTimeMilliseconds(), (long)failure["_aws"]!["Timestamp"]!);
        Assert.Equal("imageaspire/test", (string?)failure["_aws"]!["CloudWatchMetrics"]![0]!["Namespace"]);
        Assert.Equal("""[["Service","Reason"]]""", failure["_aws"]!["CloudWatchMetrics"]![0]!["Dimensions"]!.ToJsonString());
        Assert.Equal("Count", (string?)failure["_aws"]!["CloudWatchMetrics"]![0]!["Metrics"]![0]!["Unit"]);
        Assert.Equal("images", (string?)failure["Service"]);
        Assert.Equal("unsupported-format", (string?)failure["Reason"]);
        Assert.Equal(2, (double)failure["imageaspire.images.failed"]!);

        // One observation in a flush (one invocation): its exact value.
        Assert.Equal(412.5, (double)byName["imageaspire.pipeline.duration"]["imageaspire.pipeline.duration"]!);
        Assert.Equal("Milliseconds", (string?)byName["imageaspire.pipeline.duration"]["_aws"]!["CloudWatchMetrics"]![0]!["Metrics"]![0]!["Unit"]);
        Assert.Equal("Bytes", (string?)byName["imageaspire.bytes.out"]["_aws"]!["CloudWatchMetrics"]![0]!["Metrics"]![0]!["Unit"]);

        // Delta: the next flush holds only what came after; nothing recorded, nothing written.
        output.GetStringBuilder().Clear();
        processed.Add(3);
        provider.ForceFlush();
        var next = Assert.Single(Lines(output));
        Assert.Equal(3, (double)next["imageaspire.images.processed"]!);
        output.GetStringBuilder().Clear();
        provider.ForceFlush();
        Assert.Empty(Lines(output));
    }

    [Fact]
    public void Several_observations_in_one_flush_become_values_within_their_buckets_and_range()
    {
        using var meter = new Meter($"ImageAspire.Emf.{Guid.NewGuid():N}");
        var duration = meter.CreateHistogram<double>("imageaspire.pipeline.duration", "ms");
        var output = new StringWriter();
        using var provider = Provider(output, meter.Name);

        foreach (var value in new[] { 40.0, 60.0, 900.0 })
        {
            duration.Record(value);
        }

        provider.ForceFlush();
        var values = ((JsonArray)Assert.Single(Lines(output))["imageaspire.pipeline.duration"]!).Select(v => (double)v!).ToList();
        Assert.Equal(3, values.Count);
        Assert.All(values, v => Assert.InRange(v, 40.0, 900.0));
        // The midpoints of 25-50, 50-75 and 750-1000, the first raised to the recorded minimum.
        Assert.Equal([40, 62.5, 875], values);
    }

    private static MeterProvider Provider(StringWriter output, params string[] meters)
    {
        var exporter = new EmfMetricExporter(output, "imageaspire/test", "images", new HashSet<string> { meters[0] }, new FakeTimeProvider(Now));
        var builder = Sdk.CreateMeterProviderBuilder();
        foreach (var name in meters)
        {
            builder.AddMeter(name);
        }

        return builder.AddReader(new EmfMetricReader(exporter)).Build();
    }

    private static List<JsonObject> Lines(StringWriter output) =>
        [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => (JsonObject)JsonNode.Parse(line)!)];
}
