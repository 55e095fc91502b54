using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ImageAspire.ImageService.Processing;
using NetVips;
using SixLabors.ImageSharp.Processing;
using SharpImage = SixLabors.ImageSharp.Image;

namespace ImageAspire.Benchmarks;

/// <summary>
/// The service's pipeline against a raw libvips reference making the same six outputs with the fewest calls,
/// and ImageSharp 2.1.13 doing the same resizes and encodes (without the watermark: ImageSharp.Drawing is not served).
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class PipelineBenchmarks
{
    private static readonly string FontFile = Path.Combine(AppContext.BaseDirectory, "Assets", "fonts", "DejaVuSans-Bold.ttf");
    private NetVipsImagePipeline _pipeline = null!;
    private byte[] _input = [];

    [Params("jpeg-12mp", "jpeg-24mp", "png-2000-alpha")]
    public string Input { get; set; } = "jpeg-12mp";

    [GlobalSetup]
    public void Setup()
    {
        _pipeline = new NetVipsImagePipeline(Microsoft.Extensions.Options.Options.Create(new ProcessingOptions { FontFile = FontFile }));
        _input = Inputs.Get(Input);
        _ = _pipeline.ProcessAll(_input, ProcessingSettings.Default); // runs the static libvips configuration
    }

    [Benchmark(Baseline = true, Description = "raw libvips")]
    public long RawLibvips()
    {
        long bytes = 0;
        using var decoded = Image.ThumbnailBuffer(_input, 1600, optionString: "fail_on=truncated", height: 1600, size: Enums.Size.Down);
        using var flat = decoded.HasAlpha() ? decoded.Flatten(background: [255, 255, 255]) : decoded.Copy();
        using var pixels = flat.CopyMemory();
        foreach (var (width, crop, watermark) in new[] { (200, true, false), (800, false, true), (1600, false, true) })
        {
            using var resized = pixels.ThumbnailImage(width, height: width, size: Enums.Size.Down, noRotate: true, crop: crop ? Enums.Interesting.Centre : null);
            using var marked = watermark ? Watermark(resized) : resized.Copy();
            bytes += marked.JpegsaveBuffer(q: 80, interlace: true, optimizeCoding: true, keep: Enums.ForeignKeep.None).Length;
            bytes += marked.WebpsaveBuffer(q: 80, effort: 4, keep: Enums.ForeignKeep.None).Length;
        }

        return bytes;
    }

    [Benchmark(Description = "service pipeline")]
    public long Service() => _pipeline.ProcessAll(_input, ProcessingSettings.Default).Renditions.Sum(r => (long)r.Data.Length);

    [Benchmark(Description = "ImageSharp 2.1.13")]
    public long ImageSharp()
    {
        long bytes = 0;
        using var image = SharpImage.Load(_input);
        image.Mutate(x => x.AutoOrient());
        foreach (var (width, crop) in new[] { (200, true), (800, false), (1600, false) })
        {
            using var resized = image.Clone(x => x.Resize(new ResizeOptions
            {
                Size = new SixLabors.ImageSharp.Size(width, width),
                Mode = crop ? SixLabors.ImageSharp.Processing.ResizeMode.Crop : SixLabors.ImageSharp.Processing.ResizeMode.Max,
            }));
            resized.Metadata.ExifProfile = null;
            using var jpeg = new MemoryStream();
            resized.Save(jpeg, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder { Quality = 80 });
            using var webp = new MemoryStream();
            resized.Save(webp, new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { Quality = 80 });
            bytes += jpeg.Length + webp.Length;
        }

        return bytes;
    }

    private static Image Watermark(Image image)
    {
        var size = Math.Clamp(image.Width / 28, 10, 72);
        var margin = Math.Max(4, size / 2);
        using var mask = Image.Text("ImageAspire", font: $"DejaVu Sans Bold {size}px", fontfile: FontFile);
        var (x, y) = (image.Width - mask.Width - margin, image.Height - mask.Height - margin);
        using var patch = image.ExtractArea(x, y, mask.Width, mask.Height);
        using var alpha = mask.Linear([0.5 / 255.0], [0.0]);
        using var blended = (patch * alpha.Linear([-1.0], [1.0]) + alpha * 255.0).Cast(Enums.BandFormat.Uchar);
        return image.Insert(blended, x, y);
    }
}
