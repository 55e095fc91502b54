using System.Diagnostics;
using ImageAspire.ImageService.Analysis;
using Microsoft.Extensions.Options;
using NetVips;
using VipsImage = NetVips.Image;

namespace ImageAspire.ImageService.Processing;

/// <summary>One encoded rendition.</summary>
public sealed record RenditionOutput(string Name, EncodedFormat Format, int Width, int Height, byte[] Data);

/// <summary>
/// The pipeline's outputs. <paramref name="Renditions"/> are the fitted ones; the cover (square) ones are cut from
/// <paramref name="CropSource"/> by <see cref="IImagePipeline.Crop"/> once the faces are known.
/// <paramref name="AnalysisJpeg"/> is the decoded, oriented image without watermark, for Rekognition.
/// </summary>
public sealed record PipelineResult(ImageFormat SourceFormat, int Width, int Height, IReadOnlyList<RenditionOutput> Renditions, byte[] AnalysisJpeg, CropSource? CropSource);

/// <summary>
/// The decoded pixels (sRGB, 3 bands, 8 bits), shrunk to just what the cover renditions need, held as plain bytes
/// while the faces are looked for: no libvips image outlives <see cref="IImagePipeline.Process"/>.
/// </summary>
public sealed record CropSource(byte[] Pixels, int Width, int Height);

/// <summary>Validates an original and makes its renditions. Throws <see cref="ImageRejectedException"/> for bad input.</summary>
public interface IImagePipeline
{
    /// <summary>
    /// Decodes, makes the analysis JPEG (handed to <paramref name="analysisImageReady"/> as soon as it exists, so
    /// analysis runs while the renditions are encoded), the fitted renditions, and the source of the cover ones.
    /// </summary>
    PipelineResult Process(ReadOnlyMemory<byte> original, ProcessingSettings settings, Action<byte[]>? analysisImageReady, CancellationToken cancellationToken = default);

    /// <summary>Only the analysis JPEG of an original (to analyse a stored image again); the same checks as <see cref="Process"/>.</summary>
    byte[] AnalysisImage(ReadOnlyMemory<byte> original, ProcessingSettings settings, CancellationToken cancellationToken = default);

    /// <summary>The cover renditions, framed around <paramref name="faces"/> (fractions of the image), or by libvips' attention crop when there are none.</summary>
    IReadOnlyList<RenditionOutput> Crop(PipelineResult result, ProcessingSettings settings, IReadOnlyList<BoundingBox> faces, CancellationToken cancellationToken = default);
}

public static class ImagePipelineExtensions
{
    /// <summary>Every rendition, in the settings' order, with no faces known (the cover ones by attention crop).</summary>
    public static PipelineResult ProcessAll(this IImagePipeline pipeline, ReadOnlyMemory<byte> original, ProcessingSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var result = pipeline.Process(original, settings, null, cancellationToken);
        return result.WithCrops(settings, pipeline.Crop(result, settings, [], cancellationToken));
    }

    /// <summary>The result with the cover renditions added, every rendition in the order the settings list them.</summary>
    public static PipelineResult WithCrops(this PipelineResult result, ProcessingSettings settings, IReadOnlyList<RenditionOutput> crops)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(settings);
        var order = settings.Renditions.Select((preset, index) => (preset.Name, index)).ToDictionary(p => p.Name, p => p.index, StringComparer.Ordinal);
        return result with
        {
            Renditions = [.. result.Renditions.Concat(crops).OrderBy(r => order.GetValueOrDefault(r.Name, int.MaxValue))],
            CropSource = null,
        };
    }
}

/// <summary>
/// The libvips pipeline: sniff, read the header and check the limits, decode once with shrink-on-load to the
/// largest rendition (auto-oriented, sRGB, alpha flattened), derive every rendition from that, watermark the
/// corner, encode without metadata. Cover renditions are cut later, around the faces analysis finds.
/// </summary>
public sealed class NetVipsImagePipeline(IOptions<ProcessingOptions> options) : IImagePipeline
{
    private static readonly double[] White = [255, 255, 255];

    static NetVipsImagePipeline()
    {
        ShippedFontConfiguration.UseWhereTheSystemHasNone();
        // Operation cache off: every image is new, and cached operations would hold decoded pixels.
        Cache.Max = 0;
        Cache.MaxMem = 0;
        Cache.MaxFiles = 0;
        // One libvips worker thread per pipeline; the service runs pipelines in parallel instead.
        NetVips.NetVips.Concurrency = 1;
        // Never fall back to loaders that are not fuzzed for hostile input (ImageMagick, PDF, SVG, ...).
        NetVips.NetVips.BlockUntrusted = true;
    }

    public PipelineResult Process(ReadOnlyMemory<byte> original, ProcessingSettings settings, Action<byte[]>? analysisImageReady, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var limits = options.Value;
        using var activity = ImageTelemetry.Source.StartActivity("pipeline");
        var started = Stopwatch.GetTimestamp();

        var (format, width, height, decoded) = Open(original, settings, limits, cancellationToken);
        try
        {
            // First, so the analysis runs while the renditions are encoded.
            var analysisJpeg = EncodeAnalysisImage(decoded);
            analysisImageReady?.Invoke(analysisJpeg);
            var outputs = new List<RenditionOutput>(settings.Renditions.Count * settings.Formats.Count);
            foreach (var preset in settings.Renditions.Where(p => p.Mode != ResizeMode.Cover))
            {
                cancellationToken.ThrowIfCancellationRequested();
                VipsImage rendition;
                using (ImageTelemetry.Source.StartActivity("resize"))
                {
                    rendition = decoded.ThumbnailImage(preset.Width, height: preset.Height, size: Enums.Size.Down, noRotate: true);
                }

                using (rendition)
                {
                    outputs.AddRange(Finish(rendition, preset, settings, limits, cancellationToken));
                }
            }

            var cropSource = MakeCropSource(decoded, settings);
            ImageTelemetry.PipelineDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("format", format.ToString()));
            // The oriented size of the original (from its header), not that of the shrunk working copy.
            return new PipelineResult(format, width, height, outputs, analysisJpeg, cropSource);
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

    public byte[] AnalysisImage(ReadOnlyMemory<byte> original, ProcessingSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var activity = ImageTelemetry.Source.StartActivity("pipeline-analysis-image");
        var (format, _, _, decoded) = Open(original, settings, options.Value, cancellationToken);
        try
        {
            return EncodeAnalysisImage(decoded);
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

    public IReadOnlyList<RenditionOutput> Crop(PipelineResult result, ProcessingSettings settings, IReadOnlyList<BoundingBox> faces, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(faces);
        if (result.CropSource is not { } crops)
        {
            return [];
        }

        using var activity = ImageTelemetry.Source.StartActivity("crop");
        activity?.SetTag("image.faces", faces.Count);
        var outputs = new List<RenditionOutput>();
        using var source = VipsImage.NewFromMemory(crops.Pixels, crops.Width, crops.Height, 3, Enums.BandFormat.Uchar)
            .Copy(interpretation: Enums.Interpretation.Srgb);
        foreach (var preset in settings.Renditions.Where(p => p.Mode == ResizeMode.Cover))
        {
            cancellationToken.ThrowIfCancellationRequested();
            VipsImage rendition;
            if (faces.Count > 0)
            {
                var (left, top, windowWidth, windowHeight) = FaceFraming.Window(source.Width, source.Height, (double)preset.Width / preset.Height, faces);
                using var window = source.ExtractArea(left, top, windowWidth, windowHeight);
                // The window has the preset's aspect already; the centre crop only trims a rounding pixel.
                rendition = window.ThumbnailImage(preset.Width, height: preset.Height, size: Enums.Size.Down, crop: Enums.Interesting.Centre);
            }
            else
            {
                rendition = source.ThumbnailImage(preset.Width, height: preset.Height, size: Enums.Size.Down, crop: Enums.Interesting.Attention);
            }

            using (rendition)
            {
                outputs.AddRange(Finish(rendition, preset, settings, options.Value, cancellationToken));
            }
        }

        return outputs;
    }

    /// <summary>Watermarks a rendition if its preset asks for it, and encodes it in every output format.</summary>
    private static List<RenditionOutput> Finish(VipsImage rendition, RenditionPreset preset, ProcessingSettings settings, ProcessingOptions limits, CancellationToken cancellationToken)
    {
        var marked = rendition;
        if (preset.Watermark && settings.Watermark.Enabled && rendition.Width >= settings.Watermark.MinimumWidth
            && (!string.IsNullOrWhiteSpace(settings.Watermark.Text) || settings.Watermark.Logo is not null))
        {
            using (ImageTelemetry.Source.StartActivity("watermark"))
            {
                marked = CornerWatermark.Apply(rendition, settings.Watermark, limits.FontFile);
            }
        }

        try
        {
            var outputs = new List<RenditionOutput>(settings.Formats.Count);
            foreach (var output in settings.Formats)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using (ImageTelemetry.Source.StartActivity("encode"))
                {
                    outputs.Add(new RenditionOutput(preset.Name, output.Format, marked.Width, marked.Height, Encode(marked, output)));
                }
            }

            return outputs;
        }
        finally
        {
            if (!ReferenceEquals(marked, rendition))
            {
                marked.Dispose();
            }
        }
    }

    /// <summary>
    /// The decoded image shrunk as far as the cover renditions allow: each is cut from the largest window of its aspect,
    /// so the source must keep that window at least as large as the rendition.
    /// </summary>
    private static CropSource? MakeCropSource(VipsImage decoded, ProcessingSettings settings)
    {
        var covers = settings.Renditions.Where(p => p.Mode == ResizeMode.Cover).ToList();
        if (covers.Count == 0)
        {
            return null;
        }

        var scale = covers.Max(p =>
        {
            var windowWidth = Math.Min(decoded.Width, decoded.Height * (double)p.Width / p.Height);
            // Two pixels to spare, so rounding never leaves the window a pixel short of the rendition.
            return (p.Width + 2) / windowWidth;
        });
        if (scale >= 1)
        {
            return new CropSource(decoded.WriteToMemory<byte>(), decoded.Width, decoded.Height);
        }

        using var shrunk = decoded.Resize(scale);
        return new CropSource(shrunk.WriteToMemory<byte>(), shrunk.Width, shrunk.Height);
    }

    /// <summary>Sniffs, checks the header against the limits, and decodes to the largest rendition's box.</summary>
    private static (ImageFormat Format, int Width, int Height, VipsImage Decoded) Open(
        ReadOnlyMemory<byte> original, ProcessingSettings settings, ProcessingOptions limits, CancellationToken cancellationToken)
    {
        var format = Sniff(original.Span);
        Activity.Current?.SetTag("image.format", format.ToString());
        // libvips takes an array; avoid copying when the memory is a whole array already (it is, from every caller).
        var buffer = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(original, out var segment)
            && segment.Offset == 0 && segment.Count == segment.Array!.Length
                ? segment.Array
                : original.ToArray();

        var (width, height) = ReadHeader(buffer, format, limits);
        Activity.Current?.SetTag("image.width", width);
        Activity.Current?.SetTag("image.height", height);
        cancellationToken.ThrowIfCancellationRequested();

        var boxWidth = settings.Renditions.Max(r => r.Width);
        var boxHeight = settings.Renditions.Max(r => r.Height);
        using (ImageTelemetry.Source.StartActivity("decode"))
        {
            return (format, width, height, Decode(buffer, boxWidth, boxHeight));
        }
    }

    /// <summary>
    /// What image analysis sends: the pixels already decoded (oriented, sRGB, at most the largest rendition's size, so
    /// far under Rekognition's 5 MB), as a JPEG whatever the input format, and without the watermark.
    /// </summary>
    private static byte[] EncodeAnalysisImage(VipsImage decoded)
    {
        using (ImageTelemetry.Source.StartActivity("encode-analysis"))
        {
            return decoded.JpegsaveBuffer(q: 80, keep: Enums.ForeignKeep.None);
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

    private static byte[] Encode(VipsImage image, OutputFormat output) => output.Format switch
    {
        EncodedFormat.WebP => image.WebpsaveBuffer(q: output.Quality, effort: 4, keep: Enums.ForeignKeep.None),
        _ => image.JpegsaveBuffer(q: output.Quality, interlace: true, optimizeCoding: true, keep: Enums.ForeignKeep.None),
    };

    private static string FirstLine(string message) => message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "unknown error";
}
