using ImageAspire.ImageService.Storage;

namespace ImageAspire.ImageService.Apis;

public sealed record RenditionResource(string Name, string Format, int Width, int Height, long Bytes, string Url);

/// <summary>An image as the API shows it; rendition URLs are site-relative (<c>/media/...</c>, served by the edge).</summary>
public sealed record ImageResource(
    string Id,
    string Status,
    string? FileName,
    string ContentType,
    int Width,
    int Height,
    long Bytes,
    DateTimeOffset CreatedAt,
    IReadOnlyList<RenditionResource> Renditions,
    string? Error,
    Analysis.ImageAnalysis? Analysis)
{
    public const string MediaPrefix = "/media/";

    public static ImageResource From(ImageRecord image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new(
            image.Id,
            image.Status.ToString(),
            image.FileName,
            image.ContentType,
            image.Width,
            image.Height,
            image.Bytes,
            image.CreatedAt,
            image.Renditions.Select(r => new RenditionResource(r.Name, r.Format, r.Width, r.Height, r.Bytes, MediaUrl(r.Key))).ToList(),
            image.FailureReason,
            image.Analysis);
    }

    /// <summary><c>renditions/&lt;rest&gt;</c> is served at <c>/media/&lt;rest&gt;</c>.</summary>
    public static string MediaUrl(string renditionKey) =>
        MediaPrefix + (renditionKey.StartsWith("renditions/", StringComparison.Ordinal) ? renditionKey["renditions/".Length..] : renditionKey);
}

public sealed record LabelCount(string Label, int Images);

public sealed record ImageList(IReadOnlyList<ImageResource> Items, string? NextCursor);
