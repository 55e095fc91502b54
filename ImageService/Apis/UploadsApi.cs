using System.Security.Claims;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ImageAspire.ImageService.Apis;

public static class UploadsApi
{
    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/uploads").WithTags("Uploads").RequireRateLimiting(RateLimitingExtensions.PerUserPolicy);
        api.MapPost("/", CreateUpload).WithName("CreateUpload")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/{id}/complete", CompleteUpload).WithName("CompleteUpload")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    public sealed record CreateUploadRequest(string? FileName, string? ContentType, long Size);

    public sealed record UploadTicket(string Id, string UploadUrl, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ExpiresAt);

    /// <summary>Starts a presigned upload: PUT the file to <c>uploadUrl</c> with <c>headers</c>, then it is processed.</summary>
    public static async Task<Results<Created<UploadTicket>, ProblemHttpResult>> CreateUpload(
        CreateUploadRequest request, ClaimsPrincipal user, UploadTickets tickets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.FileName?.Length > 1024)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid file name", "The file name is longer than 1024 characters.");
        }

        var upload = await tickets.CreateAsync(user.Owner(), request.FileName, request.ContentType, request.Size, cancellationToken);
        return TypedResults.Created($"/api/images/{upload.Image.Id}",
            new UploadTicket(upload.Image.Id, upload.UploadUrl, upload.Headers, upload.ExpiresAt));
    }

    /// <summary>Processes an uploaded file now (idempotent; the S3 event does the same).</summary>
    public static async Task<Results<Ok<ImageResource>, NotFound<ProblemDetails>>> CompleteUpload(
        string id, ClaimsPrincipal user, PresignedUploads uploads, CancellationToken cancellationToken)
    {
        return await uploads.CompleteAsync(user.Owner(), id, cancellationToken) is { } image
            ? TypedResults.Ok(ImageResource.From(image))
            : ApiResults.ImageNotFound(id);
    }
}
