using System.Text.Json;
using ImageAspire.ImageService.Images;
using ImageAspire.LocalAws;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Apis;

/// <summary>
/// Local only: the local S3 POSTs its object-created events here, standing in for the S3 → Lambda notification.
/// Mapped only when <c>S3Events:Secret</c> and <c>S3Events:SecretHeader</c> are configured (never in AWS; the local
/// backend sets both), never routed by the edge, and every request must carry the secret in that header.
/// </summary>
public static class S3EventsApi
{
    public const string Path = "/internal/s3-events";

    public static IEndpointRouteBuilder MapS3EventsApi(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetRequiredService<IOptions<S3EventWebhookOptions>>().Value.Enabled)
        {
            app.MapPost(Path, ReceiveS3Event).AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }

    /// <summary>
    /// Answers the processor's outcome: 200 when every record was processed, 503 when one failed (the local S3 then
    /// delivers the event again, as Lambda retries a failed invocation).
    /// </summary>
    public static async Task<Results<Ok<S3EventOutcome>, UnauthorizedHttpResult, ProblemHttpResult>> ReceiveS3Event(
        HttpRequest request, IOptions<S3EventWebhookOptions> webhook, S3EventProcessor processor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        if (!webhook.Value.Authorizes(request))
        {
            return TypedResults.Unauthorized();
        }

        S3EventNotification? notification;
        try
        {
            notification = await JsonSerializer.DeserializeAsync(request.Body, ImageServiceJsonContext.Default.S3EventNotification, cancellationToken);
        }
        catch (JsonException ex)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid event", ex.Message);
        }

        var outcome = await processor.ProcessAsync(notification ?? new S3EventNotification([]), cancellationToken);
        return outcome.Succeeded
            ? TypedResults.Ok(outcome)
            : ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "S3 records failed", outcome.Describe());
    }
}
