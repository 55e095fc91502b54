using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageAspire.ServiceDefaults;

/// <summary>AWS credentials for signing: Lambda gives the function its role's in the environment.</summary>
public sealed record AwsSigningCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken)
{
    /// <summary><c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>; null when they are not set.</summary>
    public static AwsSigningCredentials? FromEnvironment() =>
        Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is { Length: > 0 } id
        && Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } secret
            ? new AwsSigningCredentials(id, secret, Environment.GetEnvironmentVariable("AWS_SESSION_TOKEN") is { Length: > 0 } token ? token : null)
            : null;
}

/// <summary>
/// Signature Version 4 (header-based, <c>AWS4-HMAC-SHA256</c>), as AWS documents it: the canonical request, the string
/// to sign over its hash and the credential scope, and the signing key derived from the secret, the date, the region
/// and the service. Small on purpose: the one thing it signs is the OTLP exporter's POST to X-Ray.
/// </summary>
public static class AwsSigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>
    /// The <c>Authorization</c> header value for a request whose headers to sign (<c>host</c> and <c>x-amz-date</c>
    /// among them) are <paramref name="headers"/>. S3 takes the path as it is; other services encode it once more.
    /// </summary>
    public static string Authorization(
        string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, string payloadSha256Hex,
        AwsSigningCredentials credentials, string region, string service, DateTimeOffset signedAt)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(credentials);
        var (canonicalRequest, signedHeaders) = CanonicalRequest(method, uri, headers, payloadSha256Hex, doubleEncodePath: service != "s3");
        var date = signedAt.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{AmzDate(signedAt)}\n{scope}\n{Sha256Hex(Encoding.UTF8.GetBytes(canonicalRequest))}";
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), date), region), service), "aws4_request");
        var signature = Convert.ToHexStringLower(Hmac(key, stringToSign));
        return $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    /// <summary>The canonical request and its signed-header list.</summary>
    public static (string CanonicalRequest, string SignedHeaders) CanonicalRequest(
        string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, string payloadSha256Hex, bool doubleEncodePath)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var path = string.IsNullOrEmpty(uri.AbsolutePath) ? "/" : uri.AbsolutePath;
        var canonicalPath = doubleEncodePath ? string.Join('/', path.Split('/').Select(Encode)) : path;
        var query = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => (Name: Encode(Uri.UnescapeDataString(p[0])), Value: Encode(Uri.UnescapeDataString(p.Length > 1 ? p[1] : string.Empty))))
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}");
        var canonicalHeaders = headers
            .GroupBy(h => h.Key.ToLowerInvariant(), h => CollapseSpaces(h.Value.Trim()))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(',', g)))
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Name));
        var request = new StringBuilder()
            .Append(method).Append('\n')
            .Append(canonicalPath).Append('\n')
            .Append(string.Join('&', query)).Append('\n');
        foreach (var (name, value) in canonicalHeaders)
        {
            request.Append(name).Append(':').Append(value).Append('\n');
        }

        request.Append('\n').Append(signedHeaders).Append('\n').Append(payloadSha256Hex);
        return (request.ToString(), signedHeaders);
    }

    public static string AmzDate(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    public static string Sha256Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    // RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8 bytes, upper-case hex.
    private static string Encode(string value)
    {
        var encoded = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return encoded.ToString();
    }

    private static string CollapseSpaces(string value) => string.Join(' ', value.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}

/// <summary>
/// Signs every request it sends with SigV4 for one service and region, with the credentials of the moment; a request
/// goes unsigned (and AWS refuses it) when there are none. Used by the OTLP exporter, which sends synchronously.
/// </summary>
public sealed class SigV4SigningHandler(string region, string service, Func<AwsSigningCredentials?> credentials, TimeProvider time) : DelegatingHandler
{
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var body = new MemoryStream();
        request.Content?.ReadAsStream(cancellationToken).CopyTo(body);
        SignRequest(request, body.ToArray());
        return base.Send(request, cancellationToken);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        SignRequest(request, body);
        return await base.SendAsync(request, cancellationToken);
    }

    private void SignRequest(HttpRequestMessage request, byte[] body)
    {
        if (credentials() is not { } current || request.RequestUri is not { } uri)
        {
            return;
        }

        if (request.Content is { } content)
        {
            // The body is read now; it is sent from the same bytes that were hashed.
            var buffered = new ByteArrayContent(body);
            foreach (var header in content.Headers)
            {
                buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            request.Content = buffered;
        }

        var now = time.GetUtcNow();
        request.Headers.Remove("x-amz-date");
        request.Headers.Remove("x-amz-security-token");
        request.Headers.TryAddWithoutValidation("x-amz-date", AwsSigV4.AmzDate(now));
        if (current.SessionToken is { } token)
        {
            request.Headers.TryAddWithoutValidation("x-amz-security-token", token);
        }

        var signed = new List<KeyValuePair<string, string>>
        {
            new("host", uri.IsDefaultPort ? uri.Host : uri.Authority),
            new("x-amz-date", AwsSigV4.AmzDate(now)),
        };
        if (current.SessionToken is { } sessionToken)
        {
            signed.Add(new("x-amz-security-token", sessionToken));
        }

        if (request.Content?.Headers.ContentType is { } contentType)
        {
            signed.Add(new("content-type", contentType.ToString()));
        }

        var authorization = AwsSigV4.Authorization(request.Method.Method, uri, signed, AwsSigV4.Sha256Hex(body), current, region, service, now);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
    }
}
