using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ImageAspire.ImageService.Processing;

/// <summary>
/// The service's own spans (upload, store, pipeline stages, S3 events, sweeps) and metrics, exported (see ImageServiceTelemetry)
/// under the name <c>ImageAspire</c>.
/// </summary>
public static class ImageTelemetry
{
    public const string Name = "ImageAspire";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> ImagesProcessed = Meter.CreateCounter<long>("imageaspire.images.processed", "{image}", "Images processed to Ready.");

    public static readonly Counter<long> ImagesFailed = Meter.CreateCounter<long>("imageaspire.images.failed", "{image}", "Uploads refused or failed, by reason.");

    /// <summary>Counts one refused upload under its reason (tag <c>reason</c>).</summary>
    public static void CountRefusal(RejectionReason reason) => ImagesFailed.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));

    public static readonly Counter<long> BytesIn = Meter.CreateCounter<long>("imageaspire.bytes.in", "By", "Bytes of originals received.");

    public static readonly Counter<long> BytesOut = Meter.CreateCounter<long>("imageaspire.bytes.out", "By", "Bytes of renditions written.");

    public static readonly Counter<long> AnalysisRetried = Meter.CreateCounter<long>("imageaspire.analysis.retried", "{image}", "Analyses tried again (by the sweep or the owner), by the status they ended in.");
    public static readonly Counter<long> AnalysisFailed = Meter.CreateCounter<long>("imageaspire.analysis.failed", "{image}", "Image analyses that failed, by reason.");

    public static readonly Histogram<double> PipelineDuration = Meter.CreateHistogram<double>("imageaspire.pipeline.duration", "ms", "Time to process one original into its renditions.");
}
