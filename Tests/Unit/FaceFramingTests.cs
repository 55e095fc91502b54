using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Processing;
using NetVips;

namespace ImageAspire.Tests.Unit;

public sealed class FaceFramingTests
{
    [Fact]
    public void Without_faces_the_window_is_the_centre_crop()
    {
        Assert.Equal((400, 0, 600, 600), FaceFraming.Window(1400, 600, 1, []));
        Assert.Equal((0, 100, 600, 600), FaceFraming.Window(600, 800, 1, []));
    }

    [Fact]
    public void A_face_at_the_edge_of_a_wide_photo_stays_in_the_square()
    {
        var face = new BoundingBox(Left: 0.9, Top: 0.4, Width: 0.08, Height: 0.2);
        var (left, top, width, height) = FaceFraming.Window(1400, 600, 1, [face]);

        Assert.Equal((600, 600), (width, height));
        Assert.Equal(0, top);
        // The whole face, in pixels 1260-1372, inside the window; the centre crop (400-1000) would have lost it.
        Assert.True(left <= 1260 && left + width >= 1372, $"window {left}-{left + width}");
        Assert.Equal(1400 - 600, left);
    }

    [Fact]
    public void The_window_centres_on_the_faces_and_keeps_every_one_that_fits()
    {
        BoundingBox[] faces = [new(0.30, 0.2, 0.05, 0.1), new(0.45, 0.3, 0.05, 0.1)];
        var (left, _, width, _) = FaceFraming.Window(2000, 500, 1, faces);

        Assert.Equal(500, width);
        Assert.True(left <= 600 && left + width >= 1000, $"window {left}-{left + width}");
        Assert.InRange(left + (width / 2), 750, 850);
    }

    [Fact]
    public void A_group_wider_than_the_crop_is_centred_and_boxes_past_the_edges_are_clamped()
    {
        BoundingBox[] group = [new(-0.1, 0.1, 0.2, 0.3), new(0.9, 0.1, 0.3, 0.3)];
        var (left, top, width, height) = FaceFraming.Window(1000, 400, 1, group);

        Assert.Equal((400, 400), (width, height));
        Assert.Equal((300, 0), (left, top));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_nonsense_aspect_is_refused(double aspect) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FaceFraming.Window(100, 100, aspect, []));

    [Fact]
    public void The_pipelines_thumb_follows_the_face_it_is_given()
    {
        // A wide grey photo with a white square (the "face") at its right edge.
        using var background = Image.Black(1600, 600, bands: 3) + 90;
        using var face = (Image.Black(120, 120, bands: 3) + 250).Cast(Enums.BandFormat.Uchar);
        using var photo = background.Cast(Enums.BandFormat.Uchar).Insert(face, 1450, 240);
        var pipeline = new NetVipsImagePipeline(Microsoft.Extensions.Options.Options.Create(new ProcessingOptions()));
        var result = pipeline.Process(photo.PngsaveBuffer(), ProcessingSettings.Default, null, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(result.Renditions, r => r.Name == "thumb");

        var framed = pipeline.Crop(result, ProcessingSettings.Default, [new BoundingBox(1450 / 1600.0, 0.4, 120 / 1600.0, 0.2)], TestContext.Current.CancellationToken);
        var centred = FaceFraming.Window(1600, 600, 1, []);

        using var thumb = Image.NewFromBuffer(framed.Single(r => r.Format == EncodedFormat.Jpeg).Data);
        Assert.Equal((200, 200), (thumb.Width, thumb.Height));
        // The face lands in the thumb's right part: its pixels are bright there, and the centre crop has none of it.
        using var right = thumb.ExtractArea(150, 80, 40, 40);
        Assert.True(right.Avg() > 200, $"the face is not in the thumb (mean {right.Avg():0})");
        Assert.True(centred.Left + centred.Width < 1450);
    }
}
