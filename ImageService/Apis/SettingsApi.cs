using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ImageAspire.ImageService.Apis;

public static class SettingsApi
{
    public static IEndpointRouteBuilder MapSettingsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/settings").WithTags("Settings").RequireRateLimiting(RateLimitingExtensions.PerUserPolicy);
        api.MapGet("/", GetSettings).WithName("GetSettings");
        api.MapPut("/", PutSettings).WithName("PutSettings").RequireAuthorization(AuthenticationExtensions.AdminsPolicy);
        return app;
    }

    public static async Task<Ok<ProcessingSettings>> GetSettings(ISettingsStore settings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await settings.GetAsync(cancellationToken));

    /// <summary>Replaces the processing settings (members of <c>admins</c> only); applies to the next upload.</summary>
    public static async Task<Results<Ok<ProcessingSettings>, ValidationProblem>> PutSettings(
        ProcessingSettings body, ISettingsStore settings, CancellationToken cancellationToken)
    {
        var errors = body?.Validate() ?? new Dictionary<string, string[]> { ["body"] = ["Settings are required."] };
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid settings");
        }

        await settings.SaveAsync(body!, cancellationToken);
        return TypedResults.Ok(body!);
    }
}
