using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

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

    /// <summary>Lambda's on-failure destination for S3 events, which the redrive reads (none: no redrive).</summary>
    public string? FailedEventsBucket { get; set; }

    [ValidateObjectMembers]
    public StorageDeadlines Deadlines { get; set; } = new();
}

/// <summary>Validates <see cref="StorageOptions"/> from its attributes, generated at compile time (no reflection).</summary>
[OptionsValidator]
public sealed partial class StorageOptionsValidator : IValidateOptions<StorageOptions>;
