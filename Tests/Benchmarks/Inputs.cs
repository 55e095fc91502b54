using NetVips;

namespace ImageAspire.Benchmarks;

/// <summary>Generated, photo-like inputs: smooth gradients with noise (so JPEG has real work), and a PNG with alpha.</summary>
public static class Inputs
{
    public static byte[] PhotoJpeg(int width, int height)
    {
        using var xyz = Image.Xyz(width, height);
        using var x = xyz[0];
        using var y = xyz[1];
        using var noise = Image.Gaussnoise(width, height, mean: 0, sigma: 12);
        using var r = (x.Linear([200.0 / width], [20.0]) + noise).Cast(Enums.BandFormat.Uchar);
        using var g = (y.Linear([180.0 / height], [40.0]) + noise).Cast(Enums.BandFormat.Uchar);
        using var b = ((x + y).Linear([150.0 / (width + height)], [60.0]) - noise).Cast(Enums.BandFormat.Uchar);
        using var rgb = r.Bandjoin(g, b).Copy(interpretation: Enums.Interpretation.Srgb);
        return rgb.JpegsaveBuffer(q: 90);
    }

    public static byte[] AlphaPng(int size)
    {
        using var xyz = Image.Xyz(size, size);
        using var x = xyz[0];
        using var y = xyz[1];
        using var r = x.Linear([255.0 / size], [0.0]).Cast(Enums.BandFormat.Uchar);
        using var g = y.Linear([255.0 / size], [0.0]).Cast(Enums.BandFormat.Uchar);
        using var b = (x + y).Linear([127.0 / size], [0.0]).Cast(Enums.BandFormat.Uchar);
        using var a = (x - y).Abs().Linear([255.0 / size], [0.0]).Cast(Enums.BandFormat.Uchar);
        using var rgba = r.Bandjoin(g, b, a).Copy(interpretation: Enums.Interpretation.Srgb);
        return rgba.PngsaveBuffer(compression: 6);
    }

    public static byte[] Get(string name) => name switch
    {
        "jpeg-12mp" => PhotoJpeg(4000, 3000),
        "jpeg-24mp" => PhotoJpeg(6000, 4000),
        "png-2000-alpha" => AlphaPng(2000),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}
