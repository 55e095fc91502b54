using System.Security;
using NetVips;
using VipsImage = NetVips.Image;

namespace ImageAspire.ImageService.Processing;

/// <summary>
/// The watermark of a rendition: the settings' text (DejaVu Sans Bold, sized to the image) or logo, blended into one
/// corner at the settings' opacity. Only the corner patch is computed, so the cost does not grow with the image.
/// </summary>
internal static class CornerWatermark
{
    /// <summary>A new image: <paramref name="image"/> with the mark blended into its corner, or a copy when the mark does not fit.</summary>
    public static VipsImage Apply(VipsImage image, WatermarkSettings watermark, string fontFile)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(watermark);
        var fontSize = Math.Clamp(image.Width / 28, 10, 72);
        var margin = Math.Max(4, fontSize / 2);
        var (mark, mask) = watermark.LogoBytes() is { } logo ? Logo(logo, image.Width / 6) : Text(watermark.Text!, fontSize, fontFile);
        using (mark)
        using (mask)
        {
            if (mask.Width + (2 * margin) > image.Width || mask.Height + (2 * margin) > image.Height)
            {
                return image.Copy();
            }

            var x = watermark.Position is WatermarkPosition.BottomLeft or WatermarkPosition.TopLeft ? margin : image.Width - mask.Width - margin;
            var y = watermark.Position is WatermarkPosition.TopLeft or WatermarkPosition.TopRight ? margin : image.Height - mask.Height - margin;

            // Blend only the corner patch: the mark at its mask times the configured opacity.
            using var patch = image.ExtractArea(x, y, mask.Width, mask.Height);
            using var alpha = mask.Linear([watermark.Opacity / 255.0], [0.0]);
            using var inverse = alpha.Linear([-1.0], [1.0]);
            using var kept = patch * inverse;
            using var added = mark * alpha;
            using var blended = kept + added;
            using var patched = blended.Cast(Enums.BandFormat.Uchar);
            return image.Insert(patched, x, y);
        }
    }

    /// <summary>White text: the colour is a constant, the rendered glyphs are the mask.</summary>
    private static (VipsImage Mark, VipsImage Mask) Text(string text, int fontSize, string fontFile)
    {
        var mask = VipsImage.Text(SecurityElement.Escape(text) ?? string.Empty, font: $"DejaVu Sans Bold {fontSize}px", fontfile: fontFile);
        using var black = VipsImage.Black(mask.Width, mask.Height, bands: 3);
        return (black.Linear([1.0, 1.0, 1.0], [255.0, 255.0, 255.0]), mask);
    }

    /// <summary>A logo scaled to the width; its alpha (or full coverage without one) is the mask.</summary>
    private static (VipsImage Mark, VipsImage Mask) Logo(byte[] logo, int width)
    {
        try
        {
            using var loaded = VipsImage.ThumbnailBuffer(logo, Math.Max(16, width), height: Math.Max(16, width), size: Enums.Size.Both);
            // Into memory first: the colour and the alpha are read separately, and a sequential PNG read cannot rewind.
            using var scaled = loaded.CopyMemory();
            using var srgb = scaled.Colourspace(Enums.Interpretation.Srgb);
            using var rgb = srgb.HasAlpha() ? srgb.ExtractBand(0, n: 3) : srgb.Copy();
            var mask = srgb.HasAlpha() ? srgb.ExtractBand(srgb.Bands - 1) : VipsImage.Black(srgb.Width, srgb.Height).Linear([1.0], [255.0]);
            return (rgb.Cast(Enums.BandFormat.Float), mask);
        }
        catch (VipsException ex)
        {
            throw new InvalidOperationException("The watermark logo in the settings cannot be decoded.", ex);
        }
    }
}
