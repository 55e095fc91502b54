using System.Text;

namespace ImageAspire.ImageService.Processing;

/// <summary>What the first bytes of a file say it is; <see cref="Format"/> is set only for formats the service accepts.</summary>
public readonly record struct SniffResult(ImageFormat? Format, string Description);

/// <summary>Identifies a file by its magic bytes; the file name and the declared content type are never trusted.</summary>
public static class ImageSniffer
{
    /// <summary>Enough bytes for every signature below.</summary>
    public const int HeaderLength = 32;

    public static SniffResult Sniff(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return new(null, "an empty file");
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return new(ImageFormat.Jpeg, "JPEG");
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return new(ImageFormat.Png, "PNG");
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return new(ImageFormat.Gif, "GIF");
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return new(ImageFormat.WebP, "WebP");
        }

        if (data.Length >= 12 && data[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(data[8..12]);
            return brand switch
            {
                "avif" or "avis" => new(ImageFormat.Avif, "AVIF"),
                "heic" or "heix" or "hevc" or "hevx" or "heim" or "heis" or "mif1" or "msf1" => new(null, "HEIC/HEIF"),
                "qt  " => new(null, "a QuickTime video"),
                _ => new(null, $"an ISO media file (brand '{Printable(brand)}')"),
            };
        }

        if (data.StartsWith("%PDF"u8))
        {
            return new(null, "PDF");
        }

        if (data.StartsWith("PK\u0003\u0004"u8))
        {
            return new(null, "a ZIP archive");
        }

        if (data.StartsWith("II*\0"u8) || data.StartsWith("MM\0*"u8))
        {
            return new(null, "TIFF");
        }

        if (data.StartsWith("BM"u8))
        {
            return new(null, "BMP");
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A]) || data.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' ']))
        {
            return new(null, "JPEG XL");
        }

        var text = Encoding.UTF8.GetString(data[..Math.Min(data.Length, HeaderLength)]).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (text.StartsWith('<'))
        {
            return new(null, text.Contains("svg", StringComparison.OrdinalIgnoreCase) ? "SVG" : "XML/HTML text");
        }

        return new(null, "an unknown format");
    }

    private static string Printable(string text) => new(text.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '?').ToArray());
}
