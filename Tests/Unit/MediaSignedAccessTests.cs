using System.Security.Cryptography;
using System.Text;
using ImageAspire.ImageService.Media;
using ImageAspire.LocalEdge;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace ImageAspire.Tests.Unit;

/// <summary>The service's CloudFront signer against the local edge's check of it, which plays CloudFront's part.</summary>
public sealed class MediaSignedAccessTests : IDisposable
{
    private const string KeyPairId = "KTEST0001";
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private readonly RSA _key = RSA.Create(2048);
    private readonly FakeTimeProvider _time = new(Now);
    private readonly SignedAccess _edge;

    public MediaSignedAccessTests()
    {
        var publicKey = RSA.Create();
        publicKey.ImportFromPem(_key.ExportSubjectPublicKeyInfoPem());
        _edge = new SignedAccess(new Dictionary<string, RSA> { [KeyPairId] = publicKey }, _time);
    }

    public void Dispose() => _key.Dispose();

    private CloudFrontSignature Sign(string resource = "http*://*/media/owner-a/*", TimeSpan? lifetime = null) =>
        CloudFrontSigner.Sign(_key, KeyPairId, resource, Now + (lifetime ?? TimeSpan.FromHours(1)));

    private static DefaultHttpContext Request(string path, CloudFrontSignature? cookies = null, string? query = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("d111111abcdef8.cloudfront.net");
        context.Request.Path = path;
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }

        if (cookies is not null)
        {
            context.Request.Headers.Cookie =
                $"CloudFront-Policy={cookies.Policy}; CloudFront-Signature={cookies.Signature}; CloudFront-Key-Pair-Id={cookies.KeyPairId}";
        }

        return context;
    }

    [Fact]
    public void The_owners_cookies_open_their_renditions()
    {
        Assert.Null(_edge.Refusal(Request("/media/owner-a/01jd/att/medium.webp", Sign()).Request));
    }

    [Fact]
    public void The_policy_is_the_custom_policy_cloudfront_documents_with_url_safe_base64()
    {
        var signature = Sign();
        Assert.DoesNotContain('+', signature.Policy + signature.Signature);
        Assert.DoesNotContain('/', signature.Policy + signature.Signature);
        Assert.DoesNotContain('=', signature.Policy + signature.Signature);
        Assert.True(CloudFrontSigner.TryDecode(signature.Policy, out var policy));
        Assert.Equal(
            "{\"Statement\":[{\"Resource\":\"http*://*/media/owner-a/*\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":" + (Now.ToUnixTimeSeconds() + 3600) + "}}}]}",
            Encoding.UTF8.GetString(policy));
        Assert.True(CloudFrontSigner.TryDecode(signature.Signature, out var raw));
        Assert.Equal(256, raw.Length);
    }

    [Fact]
    public void No_cookies_are_refused() =>
        Assert.Equal("Missing Key-Pair-Id, Signature or Policy", _edge.Refusal(Request("/media/owner-a/01jd/att/medium.webp").Request));

    [Fact]
    public void Another_users_cookies_are_refused() =>
        Assert.Equal("Access Denied (resource)", _edge.Refusal(Request("/media/owner-a/01jd/att/medium.webp", Sign("http*://*/media/owner-b/*")).Request));

    [Fact]
    public void Expired_cookies_are_refused()
    {
        var signature = Sign(lifetime: TimeSpan.FromMinutes(10));
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("Access Denied (expired)", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", signature).Request));
    }

    [Fact]
    public void A_policy_that_is_not_valid_yet_is_refused_for_that()
    {
        var policy = Encoding.UTF8.GetBytes("{\"Statement\":[{\"Resource\":\"http*://*/media/owner-a/*\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":"
            + (Now.ToUnixTimeSeconds() + 3600) + "},\"DateGreaterThan\":{\"AWS:EpochTime\":" + (Now.ToUnixTimeSeconds() + 600) + "}}}]}");
#pragma warning disable CA5350 // CloudFront signs with SHA-1
        var signature = new CloudFrontSignature(CloudFrontSigner.Encode(policy), CloudFrontSigner.Encode(_key.SignData(policy, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1)), KeyPairId);
#pragma warning restore CA5350

        Assert.Equal("Access Denied (not yet valid)", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", signature).Request));
    }

    [Fact]
    public void Garbled_cookies_are_refused_as_malformed()
    {
        var signature = Sign();

        Assert.Equal("Malformed Policy", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", signature with { Policy = "@@@@" }).Request));
        Assert.Equal("Malformed Signature", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", signature with { Signature = "@@@@" }).Request));
    }

    [Fact]
    public void A_widened_policy_with_the_original_signature_is_refused()
    {
        var signature = Sign();
        Assert.True(CloudFrontSigner.TryDecode(signature.Policy, out var policy));
        var widened = Encoding.UTF8.GetString(policy).Replace("/media/owner-a/*", "/media/*", StringComparison.Ordinal);
        var tampered = signature with { Policy = CloudFrontSigner.Encode(Encoding.UTF8.GetBytes(widened)) };
        Assert.Equal("Invalid Signature", _edge.Refusal(Request("/media/owner-b/x/y/z.jpg", tampered).Request));
    }

    [Fact]
    public void A_later_expiry_with_the_original_signature_is_refused()
    {
        var signature = Sign(lifetime: TimeSpan.FromMinutes(10));
        Assert.True(CloudFrontSigner.TryDecode(signature.Policy, out var policy));
        var later = Encoding.UTF8.GetString(policy).Replace((Now.ToUnixTimeSeconds() + 600).ToString(System.Globalization.CultureInfo.InvariantCulture),
            (Now.ToUnixTimeSeconds() + 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromMinutes(11));
        var tampered = signature with { Policy = CloudFrontSigner.Encode(Encoding.UTF8.GetBytes(later)) };
        Assert.Equal("Invalid Signature", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", tampered).Request));
    }

    [Fact]
    public void A_changed_signature_an_unknown_key_or_another_key_pair_is_refused()
    {
        var signature = Sign();
        Assert.True(CloudFrontSigner.TryDecode(signature.Signature, out var raw));
        raw[10] ^= 0x01;
        Assert.Equal("Invalid Signature", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", signature with { Signature = CloudFrontSigner.Encode(raw) }).Request));
        Assert.Equal("Unknown Key", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", signature with { KeyPairId = "KOTHER" }).Request));

        using var other = RSA.Create(2048);
        var forged = CloudFrontSigner.Sign(other, KeyPairId, "http*://*/media/owner-a/*", Now.AddHours(1));
        Assert.Equal("Invalid Signature", _edge.Refusal(Request("/media/owner-a/x/y/z.jpg", forged).Request));
    }

    [Fact]
    public void Signed_urls_with_a_custom_or_a_canned_policy_are_checked_the_same_way()
    {
        var signature = Sign();
        Assert.Null(_edge.Refusal(Request("/media/owner-a/x/y/z.jpg", query: $"?Policy={signature.Policy}&Signature={signature.Signature}&Key-Pair-Id={KeyPairId}").Request));

        // A canned policy names the exact URL; CloudFront rebuilds it from the request and the Expires parameter.
        var expires = Now.AddMinutes(5).ToUnixTimeSeconds();
        var canned = Encoding.UTF8.GetBytes("{\"Statement\":[{\"Resource\":\"https://d111111abcdef8.cloudfront.net/media/owner-a/x/y/z.jpg\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":" + expires + "}}}]}");
#pragma warning disable CA5350
        var cannedSignature = CloudFrontSigner.Encode(_key.SignData(canned, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1));
#pragma warning restore CA5350
        Assert.Null(_edge.Refusal(Request("/media/owner-a/x/y/z.jpg", query: $"?Expires={expires}&Signature={cannedSignature}&Key-Pair-Id={KeyPairId}").Request));
        // Another file under the same signature: the rebuilt canned policy is not what was signed.
        Assert.Equal("Invalid Signature", _edge.Refusal(Request("/media/owner-a/x/y/other.jpg", query: $"?Expires={expires}&Signature={cannedSignature}&Key-Pair-Id={KeyPairId}").Request));
    }
}
