using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ImageAspire.ImageService.Apis;

public static class MeApi
{
    public static IEndpointRouteBuilder MapMeApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/me", GetMe).WithName("GetMe").RequireRateLimiting(RateLimitingExtensions.PerUserPolicy);
        return app;
    }

    public sealed record CallerInfo(string Sub, string? UserName, IReadOnlyList<string> Groups);

    public static Ok<CallerInfo> GetMe(ClaimsPrincipal user) => TypedResults.Ok(new CallerInfo(
        user.FindFirstValue("sub")!,
        user.FindFirstValue("username"),
        user.FindAll("cognito:groups").Select(c => c.Value).ToList()));
}
