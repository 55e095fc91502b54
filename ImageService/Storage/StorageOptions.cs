using System.ComponentModel.DataAnnotations;

namespace ImageAspire.ImageService.Storage;

public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    [Required]
    public string OriginalsBucket { get; set; } = string.Empty;

    [Required]
    public string RenditionsBucket { get; set; } = string.Empty;

    [Required]
    public string Table { get; set; } = string.Empty;
}
