using System.Security.Claims;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Apis;

public static class ImagesApi
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    public const int MaxLabelLength = 100;

    public static IEndpointRouteBuilder MapImagesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/images").WithTags("Images").RequireRateLimiting(RateLimitingExtensions.PerUserPolicy);
        // No Accepts<>() metadata: it would make the framework answer a bare 415 before the handler can explain.
        api.MapPost("/", UploadImages).WithName("UploadImages").DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/", ListImages).WithName("ListImages").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/labels", ListLabels).WithName("ListLabels").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/{id}", GetImage).WithName("GetImage").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/{id}/analysis", AnalyzeImage).WithName("AnalyzeImage").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapDelete("/{id}", DeleteImage).WithName("DeleteImage").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>Uploads one or more images (multipart parts named <c>file</c>); all or nothing.</summary>
    public static async Task<Results<Created<ImageResource>, Created<ImageResource[]>, ProblemHttpResult>> UploadImages(
        HttpRequest request, ClaimsPrincipal user, DirectUploads uploads, IOptions<ProcessingOptions> options, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType || !request.ContentType!.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return ApiResults.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported request format",
                "Send multipart/form-data with one or more parts named 'file', or use POST /api/uploads for a presigned upload.");
        }

        var form = await request.ReadFormAsync(cancellationToken);
        var files = form.Files.GetFiles("file");
        if (files.Count == 0)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "No file", "The request has no part named 'file'.");
        }

        if (files.Count > options.Value.MaxFilesPerRequest)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Too many files", $"At most {options.Value.MaxFilesPerRequest} files per request.");
        }

        var owner = user.Owner();
        var stored = new List<StoredUpload>(files.Count);
        var confirmed = new List<ImageRecord>(files.Count);
        try
        {
            foreach (var file in files)
            {
                if (file.Length > options.Value.MaxUploadBytes)
                {
                    throw new ImageRejectedException(RejectionReason.TooLarge,
                        $"The file '{Path.GetFileName(file.FileName)}' is {file.Length} bytes; the limit is {options.Value.MaxUploadBytes} bytes. Use POST /api/uploads for larger files.");
                }

                var data = new byte[file.Length];
                await using (var stream = file.OpenReadStream())
                {
                    await stream.ReadExactlyAsync(data, cancellationToken);
                }

                stored.Add(await uploads.StoreAsync(owner, file.FileName, data, cancellationToken));
            }

            // Confirmed only once every file is stored: until then none of them is shown.
            foreach (var upload in stored)
            {
                confirmed.Add(await uploads.ConfirmAsync(upload));
            }
        }
        catch
        {
            // All or nothing; the exception is answered by ApiExceptionHandler.
            await uploads.RollBackAsync(owner, [.. confirmed, .. stored.Skip(confirmed.Count).Select(s => s.Image)]);
            throw;
        }

        var resources = confirmed.Select(ImageResource.From).ToArray();
        return resources.Length == 1
            ? TypedResults.Created($"/api/images/{resources[0].Id}", resources[0])
            : TypedResults.Created("/api/images", resources);
    }

    /// <summary>The caller's images, newest first; with <c>label</c>, only those carrying it (case-insensitive, parents count).</summary>
    public static async Task<Results<Ok<ImageList>, ProblemHttpResult>> ListImages(
        ClaimsPrincipal user, ImageLibrary library, int? limit, string? cursor, string? label, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxPageSize)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid limit", $"limit must be between 1 and {MaxPageSize}.");
        }

        if (label is not null && (string.IsNullOrWhiteSpace(label) || label.Length > MaxLabelLength || label.Any(char.IsControl)))
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid label", $"label must be 1-{MaxLabelLength} printable characters.");
        }

        var pageCursor = string.IsNullOrEmpty(cursor) ? null : cursor;
        var page = label is null
            ? await library.ListAsync(user.Owner(), limit ?? DefaultPageSize, pageCursor, cancellationToken)
            : await library.ListByLabelAsync(user.Owner(), label, limit ?? DefaultPageSize, pageCursor, cancellationToken);
        return TypedResults.Ok(new ImageList(page.Items.Select(ImageResource.From).ToList(), page.NextCursor));
    }

    /// <summary>The labels of the caller's images, most frequent first: what the gallery's filter offers.</summary>
    public static async Task<Ok<LabelCount[]>> ListLabels(ClaimsPrincipal user, ImageLibrary library, CancellationToken cancellationToken) =>
        TypedResults.Ok((await library.LabelsAsync(user.Owner(), cancellationToken)).Select(l => new LabelCount(l.Label, l.Images)).ToArray());

    /// <summary>Analyses one of the caller's processed images again (after a failure, or with changed settings).</summary>
    public static async Task<Results<Ok<ImageResource>, NotFound<ProblemDetails>, ProblemHttpResult>> AnalyzeImage(
        string id, ClaimsPrincipal user, ImageLibrary library, ImageAnalyses analyses, CancellationToken cancellationToken)
    {
        var image = await library.GetAsync(user.Owner(), id, cancellationToken);
        if (image is null)
        {
            return ApiResults.ImageNotFound(id);
        }

        if (image.Status != ImageStatus.Ready)
        {
            return ApiResults.Problem(StatusCodes.Status409Conflict, "Image not processed",
                $"Image {id} is {image.Status}; only a processed image can be analysed.");
        }

        return await analyses.RetryAsync(user.Owner(), id, force: true, cancellationToken) is { } analysed
            ? TypedResults.Ok(ImageResource.From(analysed))
            : ApiResults.ImageNotFound(id);
    }

    public static async Task<Results<Ok<ImageResource>, NotFound<ProblemDetails>>> GetImage(
        string id, ClaimsPrincipal user, ImageLibrary library, CancellationToken cancellationToken) =>
        await library.GetAsync(user.Owner(), id, cancellationToken) is { } image
            ? TypedResults.Ok(ImageResource.From(image))
            : ApiResults.ImageNotFound(id);

    public static async Task<Results<NoContent, NotFound<ProblemDetails>>> DeleteImage(
        string id, ClaimsPrincipal user, ImageLibrary library, CancellationToken cancellationToken) =>
        await library.DeleteAsync(user.Owner(), id, cancellationToken)
            ? TypedResults.NoContent()
            : ApiResults.ImageNotFound(id);
}
