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
        api.MapPost("/", CreateUpload).WithName("CreateUpload");
        api.MapPost("/{id}/complete", CompleteUpload).WithName("CompleteUpload");
        return app;
    }

    public sealed record CreateUploadRequest(string? FileName, string? ContentType, long Size);

    public sealed record UploadTicket(string Id, string UploadUrl, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ExpiresAt);

    /// <summary>Starts a presigned upload: PUT the file to <c>uploadUrl</c> with <c>headers</c>, then it is processed.</summary>
    public static async Task<Results<Created<UploadTicket>, ProblemHttpResult>> CreateUpload(
        CreateUploadRequest request, ClaimsPrincipal user, PresignedUploads uploads, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.FileName?.Length > 1024)
        {
            return ImagesApi.Problem(StatusCodes.Status400BadRequest, "Invalid file name", "The file name is longer than 1024 characters.");
        }

        try
        {
            var upload = await uploads.CreateAsync(user.Owner(), request.FileName, request.ContentType, request.Size, cancellationToken);
            return TypedResults.Created($"/api/images/{upload.Image.Id}",
                new UploadTicket(upload.Image.Id, upload.UploadUrl, upload.Headers, upload.ExpiresAt));
        }
        catch (ImageRejectedException ex)
        {
            return ImagesApi.Problem(ex.StatusCode, ex.Title, ex.Message);
        }
    }

    /// <summary>Processes an uploaded file now (idempotent; the S3 event does the same).</summary>
    public static async Task<Results<Ok<ImageResource>, NotFound<ProblemDetails>, ProblemHttpResult>> CompleteUpload(
        string id, ClaimsPrincipal user, PresignedUploads uploads, CancellationToken cancellationToken)
    {
        try
        {
            return await uploads.CompleteAsync(user.Owner(), id, cancellationToken) is { } image
                ? TypedResults.Ok(ImageResource.From(image))
                : ImagesApi.ImageNotFound(id);
        }
        catch (UploadNotFoundException ex)
        {
            return ImagesApi.Problem(StatusCodes.Status409Conflict, "Not uploaded yet", ex.Message);
        }
    }
}
