using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImageAspire.ImageService.Images;
using Microsoft.AspNetCore.Http.HttpResults;

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
        var configuration = app.ServiceProvider.GetRequiredService<IConfiguration>();
        if (!string.IsNullOrEmpty(configuration["S3Events:Secret"]) && !string.IsNullOrEmpty(configuration["S3Events:SecretHeader"]))
        {
            app.MapPost(Path, ReceiveS3Event).AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }

    public sealed record S3EventResult(string Key, string? ImageId, string? Status);

    public static async Task<Results<Ok<S3EventResult[]>, UnauthorizedHttpResult, ProblemHttpResult>> ReceiveS3Event(
        HttpRequest request, IConfiguration configuration, PresignedUploads uploads, CancellationToken cancellationToken)
    {
        var expected = Encoding.UTF8.GetBytes(configuration["S3Events:Secret"] ?? string.Empty);
        var given = Encoding.UTF8.GetBytes(request.Headers[configuration["S3Events:SecretHeader"] ?? string.Empty].ToString());
        if (expected.Length == 0 || !CryptographicOperations.FixedTimeEquals(expected, given))
        {
            return TypedResults.Unauthorized();
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid event", ex.Message);
        }

        using (document)
        {
            var results = new List<S3EventResult>();
            foreach (var record in S3EventNotification.ObjectCreatedRecords(document.RootElement))
            {
                var image = await uploads.ProcessObjectCreatedAsync(record.Bucket, record.Key, cancellationToken);
                results.Add(new S3EventResult(record.Key, image?.Id, image?.Status.ToString()));
            }

            return TypedResults.Ok(results.ToArray());
        }
    }
}
