using ImageAspire.ImageService.Analysis;

namespace ImageAspire.ImageService.Processing;

/// <summary>Where a cover rendition is cut so that the faces in the image stay in it.</summary>
public static class FaceFraming
{
    /// <summary>Room kept around the faces, as a fraction of their union's larger side (hair, chin, a shoulder).</summary>
    public const double Padding = 0.3;

    /// <summary>
    /// The window, in pixels of a <paramref name="width"/>×<paramref name="height"/> image, with the given aspect
    /// (width / height): the largest one that fits — the same zoom as a centre crop — moved to centre on the union of
    /// the faces (boxes in fractions of the image, as Rekognition gives them), padded where there is room. Whenever
    /// that union fits in the window, every face is inside it; when it does not (a group wider than the crop), the
    /// window is centred on the group.
    /// </summary>
    public static (int Left, int Top, int Width, int Height) Window(int width, int height, double aspect, IReadOnlyList<BoundingBox> faces)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(faces);
        if (!(aspect > 0) || double.IsInfinity(aspect))
        {
            throw new ArgumentOutOfRangeException(nameof(aspect), aspect, "The aspect must be a positive number.");
        }

        var windowWidth = Math.Max(1, (int)Math.Floor(Math.Min(width, height * aspect)));
        var windowHeight = Math.Max(1, Math.Min(height, (int)Math.Floor(windowWidth / aspect)));
        var boxes = faces.Where(f => f.Width > 0 && f.Height > 0).ToList();
        if (boxes.Count == 0)
        {
            return ((width - windowWidth) / 2, (height - windowHeight) / 2, windowWidth, windowHeight);
        }

        // Rekognition's boxes may reach past the image's edges; clamp them to it.
        var left = Math.Clamp(boxes.Min(b => b.Left), 0, 1) * width;
        var top = Math.Clamp(boxes.Min(b => b.Top), 0, 1) * height;
        var right = Math.Clamp(boxes.Max(b => b.Left + b.Width), 0, 1) * width;
        var bottom = Math.Clamp(boxes.Max(b => b.Top + b.Height), 0, 1) * height;
        var pad = Padding * Math.Max(right - left, bottom - top);
        var centreX = (left + right) / 2;
        var centreY = (top + bottom) / 2;
        // Padded union fits: keep the padding, within the image. Otherwise centre on the faces alone.
        if (right - left + (2 * pad) <= windowWidth && bottom - top + (2 * pad) <= windowHeight)
        {
            centreX = (Math.Max(0, left - pad) + Math.Min(width, right + pad)) / 2;
            centreY = (Math.Max(0, top - pad) + Math.Min(height, bottom + pad)) / 2;
        }

        var windowLeft = (int)Math.Round(Math.Clamp(centreX - (windowWidth / 2.0), 0, width - windowWidth));
        var windowTop = (int)Math.Round(Math.Clamp(centreY - (windowHeight / 2.0), 0, height - windowHeight));
        return (windowLeft, windowTop, windowWidth, windowHeight);
    }
}
