using System.Security.Claims;
using ImageAspire.ImageService.Images;

namespace ImageAspire.ImageService.Apis;

internal static class CallerExtensions
{
    /// <summary>The caller's Cognito subject: the owner of everything they store.</summary>
    public static string Owner(this ClaimsPrincipal user)
    {
        var sub = user.FindFirstValue("sub");
        return sub is not null && ImageKeys.IsSafeOwner(sub)
            ? sub
            : throw new UnauthorizedAccessException("The token's subject is not usable.");
    }
}
