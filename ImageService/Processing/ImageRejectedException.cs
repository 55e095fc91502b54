namespace ImageAspire.ImageService.Processing;

/// <summary>Why an upload cannot become an image; each maps to one 4xx status.</summary>
public enum RejectionReason
{
    Empty,
    TooLarge,
    UnsupportedFormat,
    TooManyPixels,
    Corrupt,
}

/// <summary>The input is not an image the service will process; the message is safe to show to the caller.</summary>
public sealed class ImageRejectedException : Exception
{
    public ImageRejectedException(RejectionReason reason, string message) : base(message) => Reason = reason;

    public ImageRejectedException(RejectionReason reason, string message, Exception inner) : base(message, inner) => Reason = reason;

    public ImageRejectedException() : this(RejectionReason.Corrupt, "The image cannot be processed.") { }

    public ImageRejectedException(string message) : this(RejectionReason.Corrupt, message) { }

    public ImageRejectedException(string message, Exception inner) : this(RejectionReason.Corrupt, message, inner) { }

    public RejectionReason Reason { get; }

    public int StatusCode => Reason switch
    {
        RejectionReason.Empty => StatusCodes.Status400BadRequest,
        RejectionReason.TooLarge => StatusCodes.Status413PayloadTooLarge,
        RejectionReason.UnsupportedFormat => StatusCodes.Status415UnsupportedMediaType,
        _ => StatusCodes.Status422UnprocessableEntity,
    };

    public string Title => Reason switch
    {
        RejectionReason.Empty => "The file is empty",
        RejectionReason.TooLarge => "The file is too large",
        RejectionReason.UnsupportedFormat => "Unsupported image format",
        RejectionReason.TooManyPixels => "The image has too many pixels",
        _ => "The image is truncated or corrupt",
    };
}
