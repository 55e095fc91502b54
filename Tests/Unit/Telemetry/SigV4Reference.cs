using System.Security.Cryptography;
using System.Text;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>
/// Signature Version 4 written out step by step from AWS's description (canonical request, string to sign, derived key),
/// for requests with a plain path and no query: what tests check a signed request against, independent of the SDK.
/// </summary>
internal static class SigV4Reference
{
    public static string[] SignedHeaders(string authorization) =>
        authorization.Split("SignedHeaders=")[1].Split(',')[0].Split(';');

    public static string Authorization(
        string method, Uri uri, IReadOnlyDictionary<string, string> headers, byte[] body,
        string accessKeyId, string secretAccessKey, string region, string service, IReadOnlyList<string> signedHeaders)
    {
        var amzDate = headers["x-amz-date"];
        var date = amzDate[..8];
        var canonicalHeaders = string.Concat(signedHeaders.Select(name => $"{name}:{headers[name].Trim()}\n"));
        var canonicalRequest = string.Join('\n', method, uri.AbsolutePath, string.Empty, canonicalHeaders, string.Join(';', signedHeaders), Sha256Hex(body));
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Sha256Hex(Encoding.UTF8.GetBytes(canonicalRequest))}";
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), date), region), service), "aws4_request");
        var signature = Convert.ToHexStringLower(Hmac(key, stringToSign));
        return $"AWS4-HMAC-SHA256 Credential={accessKeyId}/{scope}, SignedHeaders={string.Join(';', signedHeaders)}, Signature={signature}";
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
