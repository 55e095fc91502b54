using System.Text;

namespace ImageAspire.ImageService.Processing;

public enum ImageFormat
{
    Jpeg,
    Png,
    WebP,
    Avif,
    Gif,
}

public static class ImageFormats
{
    /// <summary>The refusal of an iPhone's default format, by its bytes or its declared type: one message for both.</summary>
    public const string HeicRefusal = "HEIC/HEIF images are not supported; please upload a JPEG (on iPhone: Settings > Camera > Formats > Most Compatible).";

    /// <summary>The formats accepted, as the refusals name them.</summary>
    public const string AcceptedNames = "JPEG, PNG, WebP, AVIF or GIF";

    /// <summary>The format a rendition is written in; renditions use a subset of the formats uploads may have.</summary>
    public static ImageFormat AsImageFormat(this EncodedFormat format) => format == EncodedFormat.WebP ? ImageFormat.WebP : ImageFormat.Jpeg;

    public static string Extension(this EncodedFormat format) => format.AsImageFormat().Extension();

    public static string ContentType(this EncodedFormat format) => format.AsImageFormat().ContentType();

    /// <summary>The name in the settings and the API (<c>jpeg</c>, <c>webp</c>).</summary>
    public static string Name(this EncodedFormat format) => format.AsImageFormat() == ImageFormat.WebP ? "webp" : "jpeg";

    public static string ContentType(this ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.Png => "image/png",
        ImageFormat.WebP => "image/webp",
        ImageFormat.Avif => "image/avif",
        ImageFormat.Gif => "image/gif",
        _ => "application/octet-stream",
    };

    public static string Extension(this ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "jpg",
        ImageFormat.Png => "png",
        ImageFormat.WebP => "webp",
        ImageFormat.Avif => "avif",
        ImageFormat.Gif => "gif",
        _ => "bin",
    };

    public static ImageFormat? FromContentType(string? contentType) => contentType?.Split(';')[0].Trim().ToLowerInvariant() switch
    {
        "image/jpeg" or "image/jpg" or "image/pjpeg" => ImageFormat.Jpeg,
        "image/png" => ImageFormat.Png,
        "image/webp" => ImageFormat.WebP,
        "image/avif" => ImageFormat.Avif,
        "image/gif" => ImageFormat.Gif,
        _ => null,
    };

    public static ImageFormat? FromExtension(string? extension) => extension?.TrimStart('.').ToLowerInvariant() switch
    {
        "jpg" or "jpeg" => ImageFormat.Jpeg,
        "png" => ImageFormat.Png,
        "webp" => ImageFormat.WebP,
        "avif" => ImageFormat.Avif,
        "gif" => ImageFormat.Gif,
        _ => null,
    };
}
