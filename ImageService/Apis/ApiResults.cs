using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ImageAspire.ImageService.Apis;

/// <summary>The problem answers the handlers give themselves; everything thrown is mapped by <c>ApiExceptionHandler</c>.</summary>
public static class ApiResults
{
    /// <summary>The same answer for a missing image and for someone else's.</summary>
    public static NotFound<ProblemDetails> ImageNotFound(string id) => TypedResults.NotFound(new ProblemDetails
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Image not found",
        Detail = $"There is no image '{id}'.",
        Type = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    });

    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);
}
