using System.Security.Cryptography;
using System.Text.Json;

namespace ImageAspire.LocalEdge;

/// <summary>
/// CloudFront's check of signed URLs and cookies for a behavior with trusted key groups: the key pair id names a
/// trusted public key, the signature (RSA-SHA1, PKCS #1 v1.5) is over the policy, the policy's resource matches the
/// request URL and its dates hold. Canned policies (<c>Expires</c>) and custom policies (<c>Policy</c>) both.
/// </summary>
public sealed class SignedAccess(IReadOnlyDictionary<string, RSA> trustedKeys, TimeProvider time)
{
    /// <summary>Why a request is refused, or null when it may pass.</summary>
    public string? Refusal(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (policyValue, expiresValue, signatureValue, keyPairId) = request.Query.ContainsKey("Signature")
            ? ((string?)request.Query["Policy"], (string?)request.Query["Expires"], (string?)request.Query["Signature"], (string?)request.Query["Key-Pair-Id"])
            : (request.Cookies["CloudFront-Policy"], request.Cookies["CloudFront-Expires"], request.Cookies["CloudFront-Signature"], request.Cookies["CloudFront-Key-Pair-Id"]);
        if (signatureValue is null || keyPairId is null || (policyValue is null && expiresValue is null))
        {
            return "Missing Key-Pair-Id, Signature or Policy";
        }

        if (!trustedKeys.TryGetValue(keyPairId, out var publicKey))
        {
            return "Unknown Key";
        }

        // Without the query string CloudFront adds for signing: the resource is matched against the URL as requested.
        var url = $"{request.Scheme}://{request.Host}{request.Path}{StripSigningParameters(request.QueryString.Value)}";
        byte[] policy;
        if (policyValue is not null)
        {
            if (!TryDecode(policyValue, out policy))
            {
                return "Malformed Policy";
            }
        }
        else
        {
            policy = System.Text.Encoding.UTF8.GetBytes(
                "{\"Statement\":[{\"Resource\":\"" + url + "\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":" + expiresValue + "}}}]}");
        }

        if (!TryDecode(signatureValue, out var signature))
        {
            return "Malformed Signature";
        }

#pragma warning disable CA5350 // CloudFront's scheme is RSA-SHA1.
        if (!publicKey.VerifyData(policy, signature, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1))
#pragma warning restore CA5350
        {
            return "Invalid Signature";
        }

        return PolicyRefusal(policy, url);
    }

    private string? PolicyRefusal(byte[] policy, string url)
    {
        try
        {
            using var document = JsonDocument.Parse(policy);
            var statement = document.RootElement.GetProperty("Statement")[0];
            var resource = statement.TryGetProperty("Resource", out var r) ? r.GetString() ?? "*" : "*";
            if (!new EdgeBehavior(resource, string.Empty).Matches(url))
            {
                return "Access Denied (resource)";
            }

            var condition = statement.GetProperty("Condition");
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            if (now >= condition.GetProperty("DateLessThan").GetProperty("AWS:EpochTime").GetInt64())
            {
                return "Access Denied (expired)";
            }

            if (condition.TryGetProperty("DateGreaterThan", out var notBefore) && now < notBefore.GetProperty("AWS:EpochTime").GetInt64())
            {
                return "Access Denied (not yet valid)";
            }

            return null;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            return "Malformed Policy";
        }
    }

    // CloudFront's URL-safe base64. Written here rather than shared with the service's signer: the edge stands in for
    // CloudFront, so it checks the format independently of the code that produces it.
    private static bool TryDecode(string value, out byte[] bytes)
    {
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

    private static string StripSigningParameters(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return string.Empty;
        }

        var kept = query.TrimStart('?').Split('&').Where(p => p.Split('=')[0] is not ("Policy" or "Expires" or "Signature" or "Key-Pair-Id")).ToList();
        return kept.Count == 0 ? string.Empty : "?" + string.Join('&', kept);
    }
}
