using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ImageAspire.LocalAws;

/// <summary>
/// The local S3's object-event webhook as its receivers see it (configuration <c>S3Events</c>, which the hosting
/// library's <c>WithS3EventSecret</c> sets): the header the local S3 sends and the secret it carries. Local only; in AWS
/// S3 invokes the function and nothing is configured. Compiled into both receivers (the service in web mode, the
/// local Lambda service in Lambda mode), so the one check is written once.
/// </summary>
public sealed class S3EventWebhookOptions
{
    public const string SectionName = "S3Events";

    public string? Secret { get; set; }

    public string? SecretHeader { get; set; }

    /// <summary>Both are configured: the receiver's endpoint is mapped.</summary>
    public bool Enabled => !string.IsNullOrEmpty(Secret) && !string.IsNullOrEmpty(SecretHeader);

    /// <summary>The request carries the secret in the header (compared in constant time); never true when not <see cref="Enabled"/>.</summary>
    public bool Authorizes(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Enabled)
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(request.Headers[SecretHeader!].ToString());
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(Secret!), given);
    }
}

/// <summary>The secret and its header go together: one without the other is a misconfiguration, not "off".</summary>
public sealed class S3EventWebhookOptionsValidator : IValidateOptions<S3EventWebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, S3EventWebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.IsNullOrEmpty(options.Secret) == string.IsNullOrEmpty(options.SecretHeader)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("S3Events:Secret and S3Events:SecretHeader are set together or not at all.");
    }
}
