using System.Security.Claims;
using ImageAspire.ImageService.Media;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ImageAspire.ImageService.Apis;

/// <summary>
/// Signed cookies for the caller's own renditions: <c>/media/*</c> requires CloudFront signed access, and the
/// cookies, scoped to the caller's media path, let the browser load them with plain <c>&lt;img&gt;</c> tags.
/// </summary>
public static class MediaApi
{
    public static readonly string[] CookieNames = ["CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"];

    public static IEndpointRouteBuilder MapMediaApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/media").RequireRateLimiting(RateLimitingExtensions.PerUserPolicy);
        api.MapPost("/session", StartSession).WithName("StartMediaSession");
        api.MapDelete("/session", EndSession).WithName("EndMediaSession");
        return app;
    }

    public static async Task<Ok<MediaSession>> StartSession(ClaimsPrincipal user, HttpResponse response, MediaAccess access, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(access);
        var (session, grants) = await access.GrantAsync(user.Owner(), cancellationToken);
        foreach (var grant in grants)
        {
            var cookie = CookieOptions(grant.Prefix, session.ExpiresAt);
            foreach (var (name, value) in CookieNames.Zip(CookieValues(grant.Signature)))
            {
                response.Cookies.Append(name, value, cookie);
            }
        }

        response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(session);
    }

    /// <summary>Sign-out: the browser drops the cookies (a copied cookie stays valid until it expires).</summary>
    public static async Task<NoContent> EndSession(ClaimsPrincipal user, HttpResponse response, MediaAccess access, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(access);
        foreach (var prefix in await access.PrefixesAsync(user.Owner(), cancellationToken))
        {
            var cookie = CookieOptions(prefix, DateTimeOffset.UnixEpoch);
            foreach (var name in CookieNames)
            {
                response.Cookies.Delete(name, cookie);
            }
        }

        return TypedResults.NoContent();
    }

    // In the order of CookieNames.
    private static string[] CookieValues(CloudFrontSignature signature) => [signature.Policy, signature.Signature, signature.KeyPairId];

    // Secure and SameSite=Strict: never sent over plain HTTP (browsers treat http://localhost as secure) nor from
    // another site's page; HttpOnly: no script needs them.
    private static CookieOptions CookieOptions(string path, DateTimeOffset expires) => new()
    {
        Path = path,
        Expires = expires,
        Secure = true,
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
    };
}
