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
            : throw new CallerNotAuthenticatedException("The token's subject is not usable.");
    }
}

/// <summary>The caller's token passed the authentication handler but names no usable owner: answered 401.</summary>
public sealed class CallerNotAuthenticatedException : Exception
{
    public CallerNotAuthenticatedException() { }

    public CallerNotAuthenticatedException(string message) : base(message) { }

    public CallerNotAuthenticatedException(string message, Exception inner) : base(message, inner) { }
}
