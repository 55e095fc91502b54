using System.Text;
using System.Text.Json;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ImageAspire.ImageService.Telemetry;

/// <summary>
/// The reader of <see cref="EmfMetricExporter"/>: delta temporality (each collection holds what was recorded since the
/// last), no timer (it is collected when the host says, after each Lambda invocation). Registered in DI so that the
/// host can collect it on its own: a flush of the whole meter provider shares one timeout among its readers, and a slow
/// OTLP reader would use it up.
/// </summary>
public sealed class EmfMetricReader : BaseExportingMetricReader
{
    public EmfMetricReader(EmfMetricExporter exporter) : base(exporter) => TemporalityPreference = MetricReaderTemporalityPreference.Delta;
}

/// <summary>
/// Writes metrics as CloudWatch embedded metric format (EMF) log lines: in Lambda, CloudWatch Logs turns each line into
/// metrics in <paramref name="metricNamespace"/>, with no API call and no agent. One line per data point, dimensioned by
/// <c>Service</c> and the point's tags. Only the meters in <paramref name="meters"/> are written (the runtime's and
/// ASP.NET Core's would cost a metric each; Lambda's own metrics cover them). EMF has no histogram type: a histogram
/// point becomes its values, exact when the point holds one observation (the Lambda case: the reader is flushed after
/// every invocation) and otherwise each bucket's count at a value inside it, clamped to the recorded min and max.
/// </summary>
public sealed class EmfMetricExporter(TextWriter output, string metricNamespace, string service, IReadOnlySet<string> meters, TimeProvider time) : BaseExporter<Metric>
{
    // EMF takes at most 100 values per metric in one document.
    private const int MaxValues = 100;

    public override ExportResult Export(in Batch<Metric> batch)
    {
        var lines = new StringBuilder();
        foreach (var metric in batch)
        {
            if (!meters.Contains(metric.MeterName))
            {
                continue;
            }

            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Values(metric, point) is { Count: > 0 } values)
                {
                    lines.Append(Document(metric, point, values)).Append('\n');
                }
            }
        }

        if (lines.Length > 0)
        {
            // One write: lines from concurrent loggers never cut into a document.
            output.Write(lines.ToString());
            output.Flush();
        }

        return ExportResult.Success;
    }

    private static List<double> Values(Metric metric, in MetricPoint point)
    {
        switch (metric.MetricType)
        {
            case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                return [point.GetSumLong()];
            case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                return [point.GetSumDouble()];
            case MetricType.LongGauge:
                return [point.GetGaugeLastValueLong()];
            case MetricType.DoubleGauge:
                return [point.GetGaugeLastValueDouble()];
            case MetricType.Histogram:
                return HistogramValues(point);
            default:
                return [];
        }
    }

    private static List<double> HistogramValues(in MetricPoint point)
    {
        var count = point.GetHistogramCount();
        if (count == 0)
        {
            return [];
        }

        var hasMinMax = point.TryGetHistogramMinMaxValues(out var min, out var max);
        if (count == 1)
        {
            return [hasMinMax ? min : point.GetHistogramSum()];
        }

        var values = new List<double>();
        var lower = double.NegativeInfinity;
        foreach (var bucket in point.GetHistogramBuckets())
        {
            var upper = bucket.ExplicitBound;
            var representative = double.IsInfinity(lower) ? upper : double.IsInfinity(upper) ? lower : (lower + upper) / 2;
            if (hasMinMax)
            {
                representative = Math.Clamp(double.IsInfinity(representative) ? max : representative, min, max);
            }

            for (var i = 0L; i < bucket.BucketCount && values.Count < MaxValues; i++)
            {
                values.Add(representative);
            }

            lower = upper;
        }

        return values;
    }

    private string Document(Metric metric, in MetricPoint point, List<double> values)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            var dimensions = new List<(string Name, string Value)> { ("Service", service) };
            foreach (var tag in point.Tags)
            {
                dimensions.Add((DimensionName(tag.Key), tag.Value?.ToString() ?? string.Empty));
            }

            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", time.GetUtcNow().ToUnixTimeMilliseconds());
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", metricNamespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            foreach (var (name, _) in dimensions)
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            json.WriteStartObject();
            json.WriteString("Name", metric.Name);
            json.WriteString("Unit", Unit(metric.Unit));
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            foreach (var (name, value) in dimensions)
            {
                json.WriteString(name, value);
            }

            if (values.Count == 1)
            {
                json.WriteNumber(metric.Name, values[0]);
            }
            else
            {
                json.WriteStartArray(metric.Name);
                foreach (var value in values)
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    // reason -> Reason: CloudWatch dimension names read as names, not as tag keys.
    private static string DimensionName(string tag) => tag.Length == 0 ? tag : char.ToUpperInvariant(tag[0]) + tag[1..];

    /// <summary>A CloudWatch unit for a UCUM unit (OpenTelemetry's), <c>None</c> when there is none.</summary>
    public static string Unit(string? unit) => unit switch
    {
        "ms" => "Milliseconds",
        "s" => "Seconds",
        "us" => "Microseconds",
        "By" => "Bytes",
        "KiBy" => "Kilobytes",
        "MiBy" => "Megabytes",
        "%" => "Percent",
        { Length: > 1 } u when u[0] == '{' && u[^1] == '}' => "Count",
        "1" => "Count",
        _ => "None",
    };
}
