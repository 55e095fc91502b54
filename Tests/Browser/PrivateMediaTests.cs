using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using ImageAspire.ImageService.Media;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Browser;

/// <summary>
/// Renditions through the local edge, which checks CloudFront signed cookies as the distribution's media behavior
/// does: only the owner's session opens them.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed class PrivateMediaTests(WebAppHostFixture fixture)
{
    private sealed record User(HttpClient Api, string Sub, string MediaKey, string Cookies, string LegacyCookies);

    private static HttpClient Edge(string? accessToken = null)
    {
        // Cookies are sent by hand: a cookie container would not send Secure cookies over http://localhost, as browsers do.
        var client = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = WebAppHostFixture.Site, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.ConnectionClose = true;
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client;
    }

    private async Task<User> SignedInUserAsync(CancellationToken cancellationToken)
    {
        var tokens = await fixture.NewUserAsync(cancellationToken);
        var api = Edge(tokens.AccessToken);
        var sub = (string)System.Text.Json.Nodes.JsonNode.Parse(await api.GetStringAsync(new Uri("/api/me", UriKind.Relative), cancellationToken))!["sub"]!;
        using var session = await api.PostAsync(new Uri("/api/media/session", UriKind.Relative), null, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        var setCookies = session.Headers.GetValues("Set-Cookie").ToList();
        Assert.All(setCookies, c =>
        {
            Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("httponly", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", c, StringComparison.OrdinalIgnoreCase);
        });
        // Three for the opaque media path, three for the path of renditions stored before media keys existed.
        var mediaKey = fixture.MediaPaths.Encode(sub);
        var current = setCookies.Where(c => c.Contains($"path=/media/{mediaKey}/", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.Equal(3, current.Count);
        var legacy = setCookies.Where(c => c.Contains($"path=/media/{sub}/", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.Equal(3, legacy.Count);
        return new User(api, sub, mediaKey, string.Join("; ", current.Select(c => c.Split(';')[0])), string.Join("; ", legacy.Select(c => c.Split(';')[0])));
    }

    private static async Task<HttpStatusCode> FetchAsync(string url, string? cookies, CancellationToken cancellationToken)
    {
        using var client = Edge();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (cookies is not null)
        {
            request.Headers.Add("Cookie", cookies);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        return response.StatusCode;
    }

    [Fact]
    public async Task Renditions_open_only_with_their_owners_unexpired_untampered_signature()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", cancellationToken);
        var owner = await SignedInUserAsync(cancellationToken);
        var other = await SignedInUserAsync(cancellationToken);
        var upload = await ApiCalls.UploadAsync(owner.Api, TestImages.Jpeg(640, 480), "private.jpg", "image/jpeg", cancellationToken);
        Assert.Equal(HttpStatusCode.Created, upload.Status);
        var urls = upload.Body!["renditions"]!.AsArray().Select(r => (string)r!["url"]!).ToList();
        Assert.NotEmpty(urls);
        var url = urls[0];
        Assert.All(urls, u => Assert.StartsWith($"/media/{owner.MediaKey}/", u, StringComparison.Ordinal));
        Assert.All(urls, u => Assert.DoesNotContain(owner.Sub, u, StringComparison.Ordinal));

        Assert.All(urls, u => Assert.Equal(HttpStatusCode.OK, FetchAsync(u, owner.Cookies, cancellationToken).GetAwaiter().GetResult()));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url, null, cancellationToken));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url, other.Cookies, cancellationToken));

        // The other user's cookies with the owner's path put into the policy: the signature no longer matches.
        var otherCookies = other.Cookies.Split("; ").ToDictionary(c => c.Split('=', 2)[0], c => c.Split('=', 2)[1]);
        Assert.True(CloudFrontSigner.TryDecode(otherCookies["CloudFront-Policy"], out var otherPolicy));
        var widened = Encoding.UTF8.GetString(otherPolicy).Replace($"/media/{other.MediaKey}/", $"/media/{owner.MediaKey}/", StringComparison.Ordinal);
        Assert.NotEqual(Encoding.UTF8.GetString(otherPolicy), widened);
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url,
            $"CloudFront-Policy={CloudFrontSigner.Encode(Encoding.UTF8.GetBytes(widened))}; CloudFront-Signature={otherCookies["CloudFront-Signature"]}; CloudFront-Key-Pair-Id={otherCookies["CloudFront-Key-Pair-Id"]}",
            cancellationToken));

        // Signed with the run's real key, for the owner's path, but expired a minute ago.
        var keyPairId = fixture.MediaEnvironment["Media__KeyPairId"];
        using var rsa = RSA.Create();
        rsa.ImportFromPem(fixture.MediaEnvironment["Media__PrivateKey"]);
        var expired = CloudFrontSigner.Sign(rsa, keyPairId, $"http*://*/media/{owner.MediaKey}/*", DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url,
            $"CloudFront-Policy={expired.Policy}; CloudFront-Signature={expired.Signature}; CloudFront-Key-Pair-Id={expired.KeyPairId}", cancellationToken));
        var fresh = CloudFrontSigner.Sign(rsa, keyPairId, $"http*://*/media/{owner.MediaKey}/*", DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Equal(HttpStatusCode.OK, await FetchAsync(url,
            $"CloudFront-Policy={fresh.Policy}; CloudFront-Signature={fresh.Signature}; CloudFront-Key-Pair-Id={fresh.KeyPairId}", cancellationToken));

        // Renditions stored before media keys existed (under the sub) stay where they are and keep opening for their owner.
        var legacyKey = $"renditions/{owner.Sub}/{upload.Id}/legacyattempt/thumb.jpg";
        await fixture.S3.PutObjectAsync(new() { BucketName = fixture.Environment["RenditionsBucketName"], Key = legacyKey, ContentBody = "legacy" }, cancellationToken);
        var legacyUrl = "/media/" + legacyKey["renditions/".Length..];
        Assert.Equal(HttpStatusCode.OK, await FetchAsync(legacyUrl, owner.LegacyCookies, cancellationToken));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(legacyUrl, owner.Cookies, cancellationToken));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(legacyUrl, other.LegacyCookies, cancellationToken));

        // Deleted: gone for the owner too, the legacy rendition with the rest.
        using var deleted = await owner.Api.DeleteAsync(new Uri($"/api/images/{upload.Id}", UriKind.Relative), cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, await FetchAsync(url, owner.Cookies, cancellationToken));
        Assert.NotEqual(HttpStatusCode.OK, await FetchAsync(legacyUrl, owner.LegacyCookies, cancellationToken));

        // Signing out drops the cookies in the browser.
        using var signOut = await owner.Api.DeleteAsync(new Uri("/api/media/session", UriKind.Relative), cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        Assert.Equal(6, signOut.Headers.GetValues("Set-Cookie").Count());
        Assert.All(signOut.Headers.GetValues("Set-Cookie"), c => Assert.Contains("expires=Thu, 01 Jan 1970", c, StringComparison.OrdinalIgnoreCase));
    }
}
