using System.Diagnostics;
using Microsoft.Extensions.Options;
using NetVips;
using VipsImage = NetVips.Image;

namespace ImageAspire.ImageService.Processing;

/// <summary>One encoded rendition.</summary>
public sealed record RenditionOutput(string Name, EncodedFormat Format, int Width, int Height, byte[] Data);

/// <summary>The result of processing one original.</summary>
/// <summary>The pipeline's outputs; <paramref name="AnalysisJpeg"/> is the decoded, oriented image without watermark, for Rekognition.</summary>
public sealed record PipelineResult(ImageFormat SourceFormat, int Width, int Height, IReadOnlyList<RenditionOutput> Renditions, byte[] AnalysisJpeg);

/// <summary>Validates an original and makes its renditions. Throws <see cref="ImageRejectedException"/> for bad input.</summary>
public interface IImagePipeline
{
    PipelineResult Process(ReadOnlyMemory<byte> original, ProcessingSettings settings, CancellationToken cancellationToken = default);
}

/// <summary>
/// The libvips pipeline: sniff, read the header and check the limits, decode once with shrink-on-load to the
/// largest rendition (auto-oriented, sRGB, alpha flattened), derive every rendition from that, watermark the
/// corner, encode without metadata.
/// </summary>
public sealed class NetVipsImagePipeline(IOptions<ProcessingOptions> options) : IImagePipeline
{
    private static readonly double[] White = [255, 255, 255];

    static NetVipsImagePipeline()
    {
        // Operation cache off: every image is new, and cached operations would hold decoded pixels.
        Cache.Max = 0;
        Cache.MaxMem = 0;
        Cache.MaxFiles = 0;
        // One libvips worker thread per pipeline; the service runs pipelines in parallel instead.
        NetVips.NetVips.Concurrency = 1;
        // Never fall back to loaders that are not fuzzed for hostile input (ImageMagick, PDF, SVG, ...).
        NetVips.NetVips.BlockUntrusted = true;
    }

    public PipelineResult Process(ReadOnlyMemory<byte> original, ProcessingSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var limits = options.Value;
        using var activity = ImageTelemetry.Source.StartActivity("pipeline");
        var started = Stopwatch.GetTimestamp();

        var format = Sniff(original.Span);
        activity?.SetTag("image.format", format.ToString());
        // libvips takes an array; avoid copying when the memory is a whole array already (it is, from every caller).
        var buffer = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(original, out var segment)
            && segment.Offset == 0 && segment.Count == segment.Array!.Length
                ? segment.Array
                : original.ToArray();

        var (width, height) = ReadHeader(buffer, format, limits);
        activity?.SetTag("image.width", width);
        activity?.SetTag("image.height", height);
        cancellationToken.ThrowIfCancellationRequested();

        var boxWidth = settings.Renditions.Max(r => r.Width);
        var boxHeight = settings.Renditions.Max(r => r.Height);
        VipsImage decoded;
        using (ImageTelemetry.Source.StartActivity("decode"))
        {
            decoded = Decode(buffer, boxWidth, boxHeight);
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outputs = new List<RenditionOutput>(settings.Renditions.Count * settings.Formats.Count);
            foreach (var preset in settings.Renditions)
            {
                VipsImage rendition;
                using (ImageTelemetry.Source.StartActivity("resize"))
                {
                    rendition = Resize(decoded, preset);
                }

                try
                {
                    if (preset.Watermark && settings.Watermark.Enabled && rendition.Width >= settings.Watermark.MinimumWidth
                        && (!string.IsNullOrWhiteSpace(settings.Watermark.Text) || settings.Watermark.Logo is not null))
                    {
                        using (ImageTelemetry.Source.StartActivity("watermark"))
                        {
                            var watermarked = CornerWatermark.Apply(rendition, settings.Watermark, limits.FontFile);
                            rendition.Dispose();
                            rendition = watermarked;
                        }
                    }

                    foreach (var output in settings.Formats)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        using (ImageTelemetry.Source.StartActivity("encode"))
                        {
                            outputs.Add(new RenditionOutput(preset.Name, output.Format, rendition.Width, rendition.Height, Encode(rendition, output)));
                        }
                    }
                }
                finally
                {
                    rendition.Dispose();
                }
            }

            // What image analysis sends: the pixels already decoded (oriented, sRGB, at most the largest rendition's
            // size, so far under Rekognition's 5 MB), as a JPEG whatever the input format, and without the watermark.
            byte[] analysisJpeg;
            using (ImageTelemetry.Source.StartActivity("encode-analysis"))
            {
                analysisJpeg = decoded.JpegsaveBuffer(q: 80, keep: Enums.ForeignKeep.None);
            }

            ImageTelemetry.PipelineDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("format", format.ToString()));
            // The oriented size of the original (from its header), not that of the shrunk working copy.
            return new PipelineResult(format, width, height, outputs, analysisJpeg);
        }
        catch (VipsException ex)
        {
            throw new ImageRejectedException(RejectionReason.Corrupt, $"The {format} image could not be decoded: {FirstLine(ex.Message)}", ex);
        }
        finally
        {
            decoded.Dispose();
        }
    }

    private static ImageFormat Sniff(ReadOnlySpan<byte> data)
    {
        using var _ = ImageTelemetry.Source.StartActivity("sniff");
        if (data.IsEmpty)
        {
            throw new ImageRejectedException(RejectionReason.Empty, "The file is empty.");
        }

        var sniffed = ImageSniffer.Sniff(data);
        return sniffed.Format ?? throw new ImageRejectedException(
            RejectionReason.UnsupportedFormat,
            sniffed.Description == "HEIC/HEIF"
                ? ImageFormats.HeicRefusal
                : $"The file is {sniffed.Description}; upload a {ImageFormats.AcceptedNames} image.");
    }

    private static (int Width, int Height) ReadHeader(byte[] buffer, ImageFormat format, ProcessingOptions limits)
    {
        try
        {
            // Loading is lazy: this reads the header only, so a decompression bomb is refused before any pixels exist.
            using var header = VipsImage.NewFromBuffer(buffer, access: Enums.Access.Sequential);
            var (width, height) = (header.Width, header.PageHeight > 0 ? header.PageHeight : header.Height);
            if (header.Contains("orientation") && header.Get("orientation") is int orientation && orientation >= 5)
            {
                // EXIF orientations 5-8 turn the image a quarter: the displayed sides swap.
                (width, height) = (height, width);
            }

            if (width <= 0 || height <= 0)
            {
                throw new ImageRejectedException(RejectionReason.Corrupt, $"The {format} image declares no pixels.");
            }

            if (width > limits.MaxSide || height > limits.MaxSide || (long)width * height > limits.MaxPixels)
            {
                throw new ImageRejectedException(RejectionReason.TooManyPixels,
                    $"The image is {width}×{height} pixels; the limit is {limits.MaxPixels / 1_000_000.0:0.#} megapixels and {limits.MaxSide} pixels a side.");
            }

            return (width, height);
        }
        catch (VipsException ex)
        {
            throw new ImageRejectedException(RejectionReason.Corrupt, $"The {format} image header cannot be read: {FirstLine(ex.Message)}", ex);
        }
    }

    private static VipsImage Decode(byte[] buffer, int boxWidth, int boxHeight)
    {
        try
        {
            // Shrink-on-load to the largest box, auto-orient; fail on truncated or corrupt data instead of grey pixels.
            // (Measured: thumbnail's own failOn argument does not reach the JPEG loader; the loader option does.)
            var image = VipsImage.ThumbnailBuffer(buffer, boxWidth, optionString: "fail_on=truncated", height: boxHeight, size: Enums.Size.Down);
            if (image.Interpretation != Enums.Interpretation.Srgb)
            {
                using var previous = image;
                image = previous.Colourspace(Enums.Interpretation.Srgb);
            }

            if (image.HasAlpha())
            {
                using var previous = image;
                image = previous.Flatten(background: White);
            }

            if (image.Format != Enums.BandFormat.Uchar)
            {
                using var previous = image;
                image = previous.Cast(Enums.BandFormat.Uchar);
            }

            // Decode once into memory; every rendition is then derived from these pixels.
            using var lazy = image;
            return lazy.CopyMemory();
        }
        catch (VipsException ex)
        {
            throw new ImageRejectedException(RejectionReason.Corrupt, $"The image is truncated or corrupt: {FirstLine(ex.Message)}", ex);
        }
    }

    private static VipsImage Resize(VipsImage decoded, RenditionPreset preset) =>
        decoded.ThumbnailImage(preset.Width, height: preset.Height, size: Enums.Size.Down, noRotate: true,
            crop: preset.Mode == ResizeMode.Cover ? Enums.Interesting.Centre : null);

    private static byte[] Encode(VipsImage image, OutputFormat output) => output.Format switch
    {
        EncodedFormat.WebP => image.WebpsaveBuffer(q: output.Quality, effort: 4, keep: Enums.ForeignKeep.None),
        _ => image.JpegsaveBuffer(q: output.Quality, interlace: true, optimizeCoding: true, keep: Enums.ForeignKeep.None),
    };

    private static string FirstLine(string message) => message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "unknown error";
}
