using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Auth;

/// <summary>Where tokens come from: the Cognito user pool's issuer and the app client they were issued to.</summary>
public sealed class CognitoAuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";

    /// <summary>e.g. <c>https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123</c>; keys come from <c>{Issuer}/.well-known/jwks.json</c>.</summary>
    [Required]
    public string Issuer { get; set; } = string.Empty;

    /// <summary>The app client id: access tokens must carry it as <c>client_id</c>.</summary>
    [Required]
    public string ClientId { get; set; } = string.Empty;

    /// <summary>The user pool group whose members may change the settings (the template's <c>AdminsGroup</c>).</summary>
    [Required]
    public string AdminsGroup { get; set; } = string.Empty;

    /// <summary>Only the local emulator, which speaks plain http, turns this off.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Tolerated clock difference for expiry and not-before.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public Uri JwksUri => new($"{Issuer.TrimEnd('/')}/.well-known/jwks.json");

    /// <summary>
    /// The rules a validated token must also meet to call the API (web and Lambda mode alike): an access token of
    /// this client with a subject. Returns why it does not, or null.
    /// </summary>
    public string? RejectAccessToken(Func<string, string?> claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return claim("token_use") != "access" ? "An access token is required."
            : claim("client_id") != ClientId ? "The token was issued to another client."
            : string.IsNullOrEmpty(claim("sub")) ? "The token has no subject."
            : null;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer))
        {
            yield return new ValidationResult("Auth:Issuer must be an absolute URL.", [nameof(Issuer)]);
        }
        else if (RequireHttpsMetadata && issuer.Scheme != Uri.UriSchemeHttps)
        {
            yield return new ValidationResult("Auth:Issuer must be https unless Auth:RequireHttpsMetadata is false (local emulator only).", [nameof(Issuer)]);
        }
    }
}

[OptionsValidator]
public sealed partial class CognitoAuthOptionsValidator : IValidateOptions<CognitoAuthOptions>;
