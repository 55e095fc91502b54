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
}
