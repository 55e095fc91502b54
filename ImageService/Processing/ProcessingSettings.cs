using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace ImageAspire.ImageService.Processing;

/// <summary>
/// The processing settings stored in DynamoDB (<c>SETTINGS</c>/<c>DEFAULT</c>): renditions, output formats, watermark,
/// image analysis. A document saved before analysis existed has none: it reads as <see cref="AnalysisSettings.Default"/>.
/// </summary>
public sealed record ProcessingSettings(
    IReadOnlyList<RenditionPreset> Renditions,
    IReadOnlyList<OutputFormat> Formats,
    WatermarkSettings Watermark,
    AnalysisSettings? Analysis = null)
{
    public static ProcessingSettings Default { get; } = new(
        [
            new("thumb", 200, 200, ResizeMode.Cover, Watermark: false),
            new("medium", 800, 800, ResizeMode.Fit, Watermark: true),
            new("large", 1600, 1600, ResizeMode.Fit, Watermark: true),
        ],
        [new(EncodedFormat.Jpeg, 80), new(EncodedFormat.WebP, 80)],
        new WatermarkSettings(Enabled: true, Text: "ImageAspire", Opacity: 0.5, WatermarkPosition.BottomRight, MinimumWidth: 400),
        AnalysisSettings.Default);

    /// <summary>The analysis settings in force (the defaults for a document saved before analysis existed).</summary>
    [JsonIgnore]
    public AnalysisSettings AnalysisOrDefault => Analysis ?? AnalysisSettings.Default;

    /// <summary>Every problem with the settings, keyed by JSON path; empty when valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Renditions is null || Renditions.Count is 0 or > 8)
        {
            errors["renditions"] = ["Between 1 and 8 renditions are required."];
        }
        else
        {
            for (var i = 0; i < Renditions.Count; i++)
            {
                var r = Renditions[i];
                if (r is null || string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > 32 || !r.Name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                {
                    errors[$"renditions[{i}].name"] = ["A name of 1-32 lowercase letters, digits or '-' is required."];
                }

                if (r is not null && (r.Width is < 16 or > 4096 || r.Height is < 16 or > 4096))
                {
                    errors[$"renditions[{i}]"] = ["Width and height must be between 16 and 4096."];
                }
            }

            if (Renditions.Where(r => r is not null).GroupBy(r => r.Name).Any(g => g.Count() > 1))
            {
                errors["renditions"] = ["Rendition names must be unique."];
            }
        }

        if (Formats is null || Formats.Count is 0 or > 2 || Formats.Any(f => f is null) || Formats.GroupBy(f => f.Format).Any(g => g.Count() > 1))
        {
            errors["formats"] = ["One or two distinct formats (jpeg, webp) are required."];
        }
        else if (Formats.Any(f => f.Quality is < 1 or > 100))
        {
            errors["formats"] = ["Quality must be between 1 and 100."];
        }

        if (Watermark is null)
        {
            errors["watermark"] = ["Watermark settings are required."];
        }
        else
        {
            if (Watermark.Opacity is < 0 or > 1 || double.IsNaN(Watermark.Opacity))
            {
                errors["watermark.opacity"] = ["Opacity must be between 0 and 1."];
            }

            if (Watermark.Logo is not null)
            {
                var logo = Watermark.LogoBytes();
                if (logo is null || logo.Length > WatermarkSettings.MaxLogoBytes
                    || ImageSniffer.Sniff(logo).Format is not (ImageFormat.Png or ImageFormat.WebP or ImageFormat.Jpeg))
                {
                    errors["watermark.logo"] = [$"The logo must be a base64 PNG, WebP or JPEG of at most {WatermarkSettings.MaxLogoBytes / 1024} KB."];
                }
            }
            else if (Watermark.Enabled && (string.IsNullOrWhiteSpace(Watermark.Text) || Watermark.Text.Length > 64))
            {
                errors["watermark.text"] = ["A text of 1-64 characters (or a logo) is required when the watermark is enabled."];
            }

            if (Watermark.MinimumWidth is < 0 or > 10000)
            {
                errors["watermark.minimumWidth"] = ["Minimum width must be between 0 and 10000."];
            }
        }

        if (Analysis is { } analysis)
        {
            if (analysis.LabelMinConfidence is < 0 or > 100 || double.IsNaN(analysis.LabelMinConfidence))
            {
                errors["analysis.labelMinConfidence"] = ["The label threshold must be between 0 and 100."];
            }

            if (analysis.ModerationMinConfidence is < 0 or > 100 || double.IsNaN(analysis.ModerationMinConfidence))
            {
                errors["analysis.moderationMinConfidence"] = ["The moderation threshold must be between 0 and 100."];
            }
        }

        return errors;
    }
}

/// <param name="Enabled">Analyse new images (the stack's <c>ImageAnalysis</c> parameter switches it off above this).</param>
/// <param name="LabelMinConfidence">Labels below this confidence are not kept (Rekognition's own default is 55).</param>
/// <param name="ModerationMinConfidence">
/// Moderation labels at or above this confidence are kept and mark the image sensitive (75, as AWS's Dynamic Image
/// Transformation uses).
/// </param>
public sealed record AnalysisSettings(bool Enabled, double LabelMinConfidence, double ModerationMinConfidence)
{
    public static AnalysisSettings Default { get; } = new(Enabled: true, LabelMinConfidence: 55, ModerationMinConfidence: 75);
}

public sealed record RenditionPreset(
    [property: Required] string Name,
    int Width,
    int Height,
    ResizeMode Mode,
    bool Watermark);

public sealed record OutputFormat(EncodedFormat Format, int Quality);

/// <param name="Enabled">Whether renditions marked for it get a watermark.</param>
/// <param name="Text">The text, drawn with the font shipped with the service.</param>
/// <param name="Opacity">0 (invisible) to 1.</param>
/// <param name="Position">The corner.</param>
/// <param name="MinimumWidth">Renditions narrower than this are left alone.</param>
/// <param name="Logo">A PNG, WebP or JPEG logo (base64, at most 100 KB) used instead of the text.</param>
public sealed record WatermarkSettings(bool Enabled, string? Text, double Opacity, WatermarkPosition Position, int MinimumWidth, string? Logo = null)
{
    public const int MaxLogoBytes = 100 * 1024;

    /// <summary>The logo's bytes, or null when there is none or it is not valid base64.</summary>
    public byte[]? LogoBytes()
    {
        if (string.IsNullOrWhiteSpace(Logo))
        {
            return null;
        }

        var buffer = new byte[(Logo.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(Logo, buffer, out var written) ? buffer[..written] : null;
    }
}

[JsonConverter(typeof(JsonStringEnumConverter<ResizeMode>))]
public enum ResizeMode
{
    /// <summary>Fit inside the box, keeping the aspect ratio.</summary>
    [JsonStringEnumMemberName("fit")] Fit,

    /// <summary>Fill the box and crop the overflow: around the detected faces, or libvips' attention crop without any.</summary>
    [JsonStringEnumMemberName("cover")] Cover,
}

[JsonConverter(typeof(JsonStringEnumConverter<EncodedFormat>))]
public enum EncodedFormat
{
    [JsonStringEnumMemberName("jpeg")] Jpeg,
    [JsonStringEnumMemberName("webp")] WebP,
}

[JsonConverter(typeof(JsonStringEnumConverter<WatermarkPosition>))]
public enum WatermarkPosition
{
    [JsonStringEnumMemberName("bottom-right")] BottomRight,
    [JsonStringEnumMemberName("bottom-left")] BottomLeft,
    [JsonStringEnumMemberName("top-right")] TopRight,
    [JsonStringEnumMemberName("top-left")] TopLeft,
}
