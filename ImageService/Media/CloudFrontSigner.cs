using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageAspire.ImageService.Media;

/// <summary>The three values CloudFront reads from signed cookies (or, as query parameters, from a signed URL).</summary>
public sealed record CloudFrontSignature(string Policy, string Signature, string KeyPairId);

/// <summary>
/// CloudFront's signed access with a custom policy: the policy JSON, signed RSA-SHA1 (PKCS #1 v1.5) with the key
/// pair's private key, both in CloudFront's URL-safe base64 (<c>+</c>→<c>-</c>, <c>=</c>→<c>_</c>, <c>/</c>→<c>~</c>).
/// The same code signs in Lambda and locally; the local edge checks it as CloudFront does.
/// </summary>
public static class CloudFrontSigner
{
    /// <summary>A custom policy granting <paramref name="resource"/> (CloudFront wildcards allowed) until <paramref name="expires"/>.</summary>
    public static string CustomPolicy(string resource, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        // Written by hand: CloudFront compares the signature over these exact bytes, so no whitespace and a fixed order.
        return "{\"Statement\":[{\"Resource\":\"" + resource.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            + "\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":"
            + expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "}}}]}";
    }

    public static CloudFrontSignature Sign(RSA privateKey, string keyPairId, string resource, DateTimeOffset expires)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        ArgumentException.ThrowIfNullOrEmpty(keyPairId);
        var policy = Encoding.UTF8.GetBytes(CustomPolicy(resource, expires));
        // SHA-1 is what CloudFront's signed URLs and cookies use; it is not a choice made here.
#pragma warning disable CA5350
        var signature = privateKey.SignData(policy, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1);
#pragma warning restore CA5350
        return new CloudFrontSignature(Encode(policy), Encode(signature), keyPairId);
    }

    public static string Encode(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).Replace('+', '-').Replace('=', '_').Replace('/', '~');

    /// <summary>Decodes CloudFront's URL-safe base64; false when <paramref name="value"/> is not that.</summary>
    public static bool TryDecode(string value, out byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(value);
        try
        {
            bytes = Convert.FromBase64String(value.Replace('-', '+').Replace('_', '=').Replace('~', '/'));
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
