using ImageAspire.ImageService.Processing;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.Options;
using NetVips;

namespace ImageAspire.Tests.Unit;

public sealed class ImagePipelineTests
{
    private static readonly ProcessingOptions Options = new()
    {
        FontFile = Path.Combine(AppContext.BaseDirectory, "Assets", "fonts", "DejaVuSans-Bold.ttf"),
    };

    private static readonly NetVipsImagePipeline Pipeline = new(Microsoft.Extensions.Options.Options.Create(Options));

    [Fact]
    public void The_image_for_analysis_is_a_JPEG_of_the_decoded_pixels_whatever_the_input_and_without_metadata()
    {
        foreach (var input in new[] { TestImages.Png(3000, 2000, transparent: true), TestImages.Jpeg(1200, 900, orientation: 6, withMetadata: true) })
        {
            var result = Process(input);

            Assert.Equal(ImageFormat.Jpeg, ImageSniffer.Sniff(result.AnalysisJpeg).Format);
            using var decoded = Image.NewFromBuffer(result.AnalysisJpeg);
            // Oriented as the renditions are, and no larger than the largest of them.
            var large = result.Renditions.First(r => r.Name == "large");
            Assert.Equal(large.Width > large.Height, decoded.Width > decoded.Height);
            Assert.True(decoded.Width <= 1600 && decoded.Height <= 1600);
            Assert.Equal(3, decoded.Bands);
            Assert.DoesNotContain("exif-data", decoded.GetFields());
        }
    }

    [Fact]
    public void A_photo_becomes_every_rendition_in_both_formats()
    {
        var result = Process(TestImages.Jpeg(3000, 2000));

        Assert.Equal(ImageFormat.Jpeg, result.SourceFormat);
        Assert.Equal((3000, 2000), (result.Width, result.Height));
        Assert.Equal(6, result.Renditions.Count);
        var sizes = result.Renditions.ToDictionary(r => $"{r.Name}.{r.Format.Extension()}", r => (r.Width, r.Height));
        Assert.Equal((200, 200), sizes["thumb.jpg"]);
        Assert.Equal((200, 200), sizes["thumb.webp"]);
        Assert.Equal(800, sizes["medium.jpg"].Width);
        Assert.InRange(sizes["medium.jpg"].Height, 533, 534);
        Assert.Equal(1600, sizes["large.webp"].Width);
        Assert.InRange(sizes["large.webp"].Height, 1066, 1067);
        foreach (var rendition in result.Renditions)
        {
            Assert.Equal(rendition.Format == EncodedFormat.WebP ? ImageFormat.WebP : ImageFormat.Jpeg, ImageSniffer.Sniff(rendition.Data).Format);
            using var decoded = Image.NewFromBuffer(rendition.Data);
            Assert.Equal((rendition.Width, rendition.Height), (decoded.Width, decoded.Height));
            Assert.Equal(3, decoded.Bands);
        }
    }

    [Fact]
    public void Jpeg_renditions_are_progressive()
    {
        var result = Process(TestImages.Jpeg(1000, 800));
        var jpeg = result.Renditions.First(r => r.Format == EncodedFormat.Jpeg).Data;

        // SOF2 (FF C2) marks a progressive JPEG; baseline would be SOF0 (FF C0).
        Assert.True(ContainsMarker(jpeg, 0xC2));
        Assert.False(ContainsMarker(jpeg, 0xC0));
    }

    [Theory]
    [InlineData(6, "right")]
    [InlineData(8, "bottom-left")]
    public void The_exif_orientation_is_applied(int orientation, string redCorner)
    {
        // Stored 600×400 with the red block top-left; orientation 6 turns it 90° clockwise, 8 counter-clockwise.
        var result = Process(TestImages.Jpeg(600, 400, orientation));

        Assert.Equal((400, 600), (result.Width, result.Height));
        var large = result.Renditions.Single(r => r.Name == "large" && r.Format == EncodedFormat.Jpeg);
        Assert.Equal((400, 600), (large.Width, large.Height));
        using var image = Image.NewFromBuffer(large.Data);
        var (x, y) = redCorner == "right" ? (image.Width - 10, 10) : (10, image.Height - 10);
        var pixel = image.Getpoint(x, y);
        Assert.True(pixel[0] > 200 && pixel[1] < 60 && pixel[2] < 60, $"expected red at {redCorner}, got {string.Join(',', pixel)}");
    }

    [Fact]
    public void No_metadata_is_left_in_any_output()
    {
        var original = TestImages.Jpeg(1200, 900, orientation: 1, withMetadata: true);
        using (var source = Image.NewFromBuffer(original))
        {
            Assert.Contains("exif-data", source.GetFields());
            Assert.Contains("xmp-data", source.GetFields());
        }

        var result = Process(original);

        foreach (var rendition in result.Renditions)
        {
            using var image = Image.NewFromBuffer(rendition.Data);
            var fields = image.GetFields();
            Assert.DoesNotContain(fields, f => f is "exif-data" or "xmp-data" or "iptc-data" or "icc-profile-data" || f.StartsWith("exif-", StringComparison.Ordinal));
            Assert.DoesNotContain("Private Person"u8.ToArray(), Windows(rendition.Data, "Private Person".Length));
        }
    }

    [Fact]
    public void Medium_and_large_carry_the_watermark_in_the_configured_corner()
    {
        using var black = Image.Black(2400, 1800, bands: 3).Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);
        var original = black.PngsaveBuffer();

        var result = Process(original);

        foreach (var name in new[] { "medium", "large" })
        {
            using var image = Image.NewFromBuffer(result.Renditions.Single(r => r.Name == name && r.Format == EncodedFormat.Jpeg).Data);
            var corner = image.Crop(image.Width * 3 / 4, image.Height * 7 / 8, image.Width / 4, image.Height / 8);
            var opposite = image.Crop(0, 0, image.Width / 4, image.Height / 8);
            Assert.True(corner.Max() > 80, $"{name}: no watermark in the bottom-right corner (max {corner.Max()})");
            Assert.True(opposite.Max() < 20, $"{name}: unexpected bright pixels top-left (max {opposite.Max()})");
        }

        using var thumb = Image.NewFromBuffer(result.Renditions.Single(r => r.Name == "thumb" && r.Format == EncodedFormat.Jpeg).Data);
        Assert.True(thumb.Max() < 20, "the thumbnail must not be watermarked");
    }

    [Fact]
    public void A_logo_replaces_the_text_when_configured()
    {
        using var red = Image.Black(120, 60, bands: 3).Linear([1.0, 1.0, 1.0], [255.0, 0.0, 0.0]).Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);
        var settings = ProcessingSettings.Default with
        {
            Watermark = ProcessingSettings.Default.Watermark with { Logo = Convert.ToBase64String(red.PngsaveBuffer()), Opacity = 1.0 },
        };
        Assert.Empty(settings.Validate());
        using var black = Image.Black(2400, 1800, bands: 3).Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);

        var result = Pipeline.ProcessAll(black.PngsaveBuffer(), settings, TestContext.Current.CancellationToken);

        using var large = Image.NewFromBuffer(result.Renditions.Single(r => r.Name == "large" && r.Format == EncodedFormat.WebP).Data);
        using var corner = large.Crop(large.Width * 3 / 4, large.Height * 3 / 4, large.Width / 4, large.Height / 4);
        using var redBand = corner[0];
        using var greenBand = corner[1];
        Assert.True(redBand.Max() > 200 && greenBand.Max() < 60, $"expected the red logo in the corner (r {redBand.Max()}, g {greenBand.Max()})");
    }

    [Fact]
    public void Settings_with_a_bad_logo_or_no_mark_are_invalid()
    {
        var notAnImage = ProcessingSettings.Default with { Watermark = ProcessingSettings.Default.Watermark with { Logo = Convert.ToBase64String("<svg/>"u8.ToArray()) } };
        var notBase64 = ProcessingSettings.Default with { Watermark = ProcessingSettings.Default.Watermark with { Logo = "%%%" } };
        var nothing = ProcessingSettings.Default with { Watermark = ProcessingSettings.Default.Watermark with { Text = " " } };

        Assert.Contains("watermark.logo", notAnImage.Validate().Keys);
        Assert.Contains("watermark.logo", notBase64.Validate().Keys);
        Assert.Contains("watermark.text", nothing.Validate().Keys);
    }

    [Fact]
    public void Png_alpha_is_flattened_onto_white()
    {
        var result = Process(TestImages.Png(500, 400, transparent: true));

        Assert.Equal(ImageFormat.Png, result.SourceFormat);
        using var image = Image.NewFromBuffer(result.Renditions.Single(r => r.Name == "large" && r.Format == EncodedFormat.Jpeg).Data);
        Assert.Equal(3, image.Bands);
        Assert.True(image.Min() > 240, $"transparent pixels should become white, min {image.Min()}");
    }

    [Fact]
    public void Small_images_are_never_upscaled()
    {
        var result = Process(TestImages.WebP(120, 90));

        Assert.Equal(ImageFormat.WebP, result.SourceFormat);
        Assert.All(result.Renditions, r => Assert.True(r.Width <= 120 && r.Height <= 90, $"{r.Name} is {r.Width}×{r.Height}"));
        Assert.Equal((120, 90), (result.Renditions.Single(r => r.Name == "large" && r.Format == EncodedFormat.Jpeg).Width, 90));
    }

    [Fact]
    public void An_avif_image_is_processed()
    {
        using var image = TestImages.Gradient(640, 480);
        var avif = image.HeifsaveBuffer(q: 60, compression: Enums.ForeignHeifCompression.Av1);

        var result = Process(avif);

        Assert.Equal(ImageFormat.Avif, result.SourceFormat);
        Assert.Equal((640, 480), (result.Width, result.Height));
        Assert.Equal(6, result.Renditions.Count);
    }

    [Fact]
    public void A_gif_uses_its_first_frame()
    {
        var result = Process(TestImages.Gif(300, 200));

        Assert.Equal(ImageFormat.Gif, result.SourceFormat);
        Assert.Equal((300, 200), (result.Width, result.Height));
    }

    [Theory]
    [InlineData(100_000, 100_000)]
    [InlineData(65_535, 65_535)]
    [InlineData(40_000, 10)]
    [InlineData(12_000, 9_000)]
    public void Images_over_the_pixel_or_side_limit_are_refused_before_decoding(int width, int height)
    {
        var error = Assert.Throws<ImageRejectedException>(() => Process(TestImages.PngHeaderOnly(width, height)));

        Assert.Equal(RejectionReason.TooManyPixels, error.Reason);
        Assert.Equal(422, Status(error));
        Assert.Contains($"{width}×{height}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_inputs_get_the_statuses_the_api_promises()
    {
        var jpeg = TestImages.Jpeg(800, 600);
        Assert.Equal(400, Status(Reject([])));
        Assert.Equal(422, Status(Reject(jpeg[..(jpeg.Length / 2)])));
        Assert.Equal(422, Status(Reject(jpeg[..40])));
        var heic = Reject(TestImages.HeicHeader());
        Assert.Equal(415, Status(heic));
        Assert.Equal(ImageFormats.HeicRefusal, heic.Message);
        var svg = Reject("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"u8.ToArray());
        Assert.Equal(415, Status(svg));
        Assert.Contains("SVG", svg.Message, StringComparison.Ordinal);
        Assert.Equal(415, Status(Reject("%PDF-1.7"u8.ToArray())));
        Assert.Equal(415, Status(Reject(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096).Also(b => b[0] = 0x00))));
    }

    private static int Status(ImageRejectedException rejected) => ImageAspire.ImageService.Extensions.ApiExceptionHandler.StatusOf(rejected.Reason);

    private static PipelineResult Process(byte[] input) =>
        Pipeline.ProcessAll(input, ProcessingSettings.Default, TestContext.Current.CancellationToken);

    private static ImageRejectedException Reject(byte[] input) =>
        Assert.Throws<ImageRejectedException>(() => Process(input));

    private static bool ContainsMarker(byte[] jpeg, byte marker)
    {
        for (var i = 0; i < jpeg.Length - 1; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] == marker)
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<byte[]> Windows(byte[] data, int size)
    {
        for (var i = 0; i + size <= data.Length; i++)
        {
            yield return data[i..(i + size)];
        }
    }
}
