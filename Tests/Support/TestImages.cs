using System.Buffers.Binary;
using NetVips;

namespace ImageAspire.Tests.Support;

/// <summary>Images generated for tests: photo-like gradients, orientation tags, alpha, crafted headers.</summary>
public static class TestImages
{
    /// <summary>A colourful gradient with a red block in the stored top-left corner.</summary>
    public static Image Gradient(int width, int height)
    {
        using var xyz = Image.Xyz(width, height);
        using var x = xyz[0];
        using var y = xyz[1];
        using var r = x.Linear([255.0 / width], [0.0]);
        using var g = y.Linear([255.0 / height], [0.0]);
        using var b = (x + y).Linear([127.0 / (width + height)], [64.0]);
        using var rgb = r.Bandjoin(g, b);
        using var uchar = rgb.Cast(Enums.BandFormat.Uchar);
        using var marked = uchar.Mutate(m => m.DrawRect([255.0, 0.0, 0.0], 0, 0, Math.Max(2, width / 8), Math.Max(2, height / 8), fill: true));
        return marked.Copy(interpretation: Enums.Interpretation.Srgb);
    }

    public static byte[] Jpeg(int width, int height, int? orientation = null, bool withMetadata = false)
    {
        using var image = Gradient(width, height);
        using var tagged = image.Mutate(m =>
        {
            if (orientation is { } o)
            {
                m.Set(GValue.GIntType, "orientation", o);
            }

            if (withMetadata)
            {
                m.Set(GValue.GStrType, "exif-ifd0-Artist", "Private Person");
                m.Set(GValue.GStrType, "exif-ifd0-Copyright", "secret location 51.5N 0.1W");
                m.Set(GValue.BlobType, "xmp-data", System.Text.Encoding.UTF8.GetBytes(
                    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:GPSLatitude=\"51,30.0N\"/></rdf:RDF></x:xmpmeta>"));
            }
        });
        return tagged.JpegsaveBuffer(q: 90, keep: Enums.ForeignKeep.All);
    }

    public static byte[] Png(int width, int height, bool transparent = false)
    {
        using var image = Gradient(width, height);
        if (!transparent)
        {
            return image.PngsaveBuffer();
        }

        using var alpha = Image.Black(width, height).Cast(Enums.BandFormat.Uchar);
        using var rgba = image.Bandjoin(alpha);
        using var copy = rgba.Copy(interpretation: Enums.Interpretation.Srgb);
        return copy.PngsaveBuffer();
    }

    public static byte[] WebP(int width, int height)
    {
        using var image = Gradient(width, height);
        return image.WebpsaveBuffer(q: 90);
    }

    public static byte[] Gif(int width, int height)
    {
        using var image = Gradient(width, height);
        return image.GifsaveBuffer();
    }

    /// <summary>A PNG whose header declares <paramref name="width"/>×<paramref name="height"/> but carries almost no data.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // truecolour
        WriteChunk(stream, "IHDR", ihdr);
        WriteChunk(stream, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        WriteChunk(stream, "IEND", []);
        return stream.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        var value = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(value, Crc32([.. typeBytes, .. data]));
        stream.Write(value);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>An ISO-BMFF header with the HEIC brand, as an iPhone photo starts.</summary>
    public static byte[] HeicHeader() =>
        [0, 0, 0, 0x18, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'h', (byte)'e', (byte)'i', (byte)'c', 0, 0, 0, 0,
         (byte)'m', (byte)'i', (byte)'f', (byte)'1', (byte)'h', (byte)'e', (byte)'i', (byte)'c', 0, 0, 0, 0];
}
