using AmazonClientException = Amazon.Runtime.AmazonClientException;
using AmazonServiceException = Amazon.Runtime.AmazonServiceException;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace ImageAspire.ImageService.Extensions;

/// <summary>
/// Turns what escapes an endpoint into a problem detail with the right status: bad requests stay 4xx,
/// an unavailable dependency or a full pipeline is a 503 with Retry-After, never a bare 500.
/// </summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problems, Microsoft.Extensions.Options.IOptions<StorageOptions> storage, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var deadlines = storage.Value.Deadlines;
        var busy = (int?)deadlines.BusyRetryAfter.TotalSeconds;
        var unavailable = (int?)deadlines.StorageRetryAfter.TotalSeconds;
        var (status, title, detail, retryAfter) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == 413 ? "The request is too large" : "Bad request", bad.Message, (int?)null),
            InvalidDataException invalid => (400, "Malformed request body", invalid.Message, null),
            // Reading a multipart body that ends before its closing boundary.
            IOException when !httpContext.RequestAborted.IsCancellationRequested && !httpContext.Response.HasStarted
                => (400, "Malformed request body", "The request body ended early or is not valid multipart/form-data.", (int?)null),
            ImageRejectedException rejected => (StatusOf(rejected.Reason), TitleOf(rejected.Reason), rejected.Message, null),
            InvalidCursorException cursor => (400, "Invalid cursor", cursor.Message, null),
            UploadNotFoundException notUploaded => (409, "Not uploaded yet", notUploaded.Message, null),
            Apis.CallerNotAuthenticatedException => (401, "Unauthorized", "The token's subject is not usable.", null),
            PipelineBusyException full => (503, "Busy", full.Message, busy),
            UploadInProgressException inProgress => (503, "Upload in progress", inProgress.Message, busy),
            // A write whose answer was lost may still land: each flow's message says what is true of its case and what
            // the caller may do (see DirectUploads, PresignedUploads, ImageRemover).
            UnknownOutcomeException unknown => (503, "Storage did not answer in time", unknown.Message, unavailable),
            AmazonServiceException or AmazonClientException or HttpRequestException or TimeoutException
                or TaskCanceledException when !httpContext.RequestAborted.IsCancellationRequested
                => (503, "Storage unavailable", "A storage service did not answer; nothing was changed. Retry shortly.", unavailable),
            _ => (0, string.Empty, string.Empty, null),
        };
        if (status == 0)
        {
            return false;
        }

        // Every refused upload is counted once, here, where the refusal becomes the answer (presigned uploads refused
        // after their object arrived are counted where the refusal is recorded).
        if (exception is ImageRejectedException refusal)
        {
            ImageTelemetry.CountRefusal(refusal.Reason);
        }
        else if (exception is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            ImageTelemetry.CountRefusal(RejectionReason.TooLarge);
        }

        if (status == 503)
        {
            logger.LogWarning(exception, "Answered 503: {Title}", title);
        }

        httpContext.Response.StatusCode = status;
        if (retryAfter is { } seconds)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    public static int StatusOf(RejectionReason reason) => reason switch
    {
        RejectionReason.Empty => StatusCodes.Status400BadRequest,
        RejectionReason.TooLarge => StatusCodes.Status413PayloadTooLarge,
        RejectionReason.UnsupportedFormat => StatusCodes.Status415UnsupportedMediaType,
        _ => StatusCodes.Status422UnprocessableEntity,
    };

    public static string TitleOf(RejectionReason reason) => reason switch
    {
        RejectionReason.Empty => "The file is empty",
        RejectionReason.TooLarge => "The file is too large",
        RejectionReason.UnsupportedFormat => "Unsupported image format",
        RejectionReason.TooManyPixels => "The image has too many pixels",
        _ => "The image is truncated or corrupt",
    };
}
