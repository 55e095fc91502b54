using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ImageAspire.ImageService.Media;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImageAspire.Tests.Browser;

/// <summary>
/// Renditions through the local edge, which checks CloudFront signed cookies as the distribution's media behavior
/// does: only the owner's session opens them.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed class PrivateMediaTests(WebAppHostFixture fixture)
{
    private sealed record User(HttpClient Api, string Sub, string Cookies);

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
        Assert.Equal(3, setCookies.Count);
        Assert.All(setCookies, c =>
        {
            Assert.Contains($"path=/media/{sub}/", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("httponly", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", c, StringComparison.OrdinalIgnoreCase);
        });
        return new User(api, sub, string.Join("; ", setCookies.Select(c => c.Split(';')[0])));
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

        Assert.All(urls, u => Assert.Equal(HttpStatusCode.OK, FetchAsync(u, owner.Cookies, cancellationToken).GetAwaiter().GetResult()));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url, null, cancellationToken));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url, other.Cookies, cancellationToken));

        // The other user's cookies with the owner's path put into the policy: the signature no longer matches.
        var otherCookies = other.Cookies.Split("; ").ToDictionary(c => c.Split('=', 2)[0], c => c.Split('=', 2)[1]);
        Assert.True(CloudFrontSigner.TryDecode(otherCookies["CloudFront-Policy"], out var otherPolicy));
        var widened = Encoding.UTF8.GetString(otherPolicy).Replace($"/media/{other.Sub}/", $"/media/{owner.Sub}/", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url,
            $"CloudFront-Policy={CloudFrontSigner.Encode(Encoding.UTF8.GetBytes(widened))}; CloudFront-Signature={otherCookies["CloudFront-Signature"]}; CloudFront-Key-Pair-Id={otherCookies["CloudFront-Key-Pair-Id"]}",
            cancellationToken));

        // Signed with the run's real key, for the owner's path, but expired a minute ago.
        var (keyPairId, privateKey) = await SigningKeyAsync(cancellationToken);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(privateKey);
        var expired = CloudFrontSigner.Sign(rsa, keyPairId, $"http*://*/media/{owner.Sub}/*", DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Equal(HttpStatusCode.Forbidden, await FetchAsync(url,
            $"CloudFront-Policy={expired.Policy}; CloudFront-Signature={expired.Signature}; CloudFront-Key-Pair-Id={expired.KeyPairId}", cancellationToken));
        var fresh = CloudFrontSigner.Sign(rsa, keyPairId, $"http*://*/media/{owner.Sub}/*", DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Equal(HttpStatusCode.OK, await FetchAsync(url,
            $"CloudFront-Policy={fresh.Policy}; CloudFront-Signature={fresh.Signature}; CloudFront-Key-Pair-Id={fresh.KeyPairId}", cancellationToken));

        // Deleted: gone for the owner too.
        using var deleted = await owner.Api.DeleteAsync(new Uri($"/api/images/{upload.Id}", UriKind.Relative), cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, await FetchAsync(url, owner.Cookies, cancellationToken));

        // Signing out drops the cookies in the browser.
        using var signOut = await owner.Api.DeleteAsync(new Uri("/api/media/session", UriKind.Relative), cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        Assert.All(signOut.Headers.GetValues("Set-Cookie"), c => Assert.Contains("expires=Thu, 01 Jan 1970", c, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The media key pair the AppHost made for this run, as the service is given it.</summary>
    private async Task<(string KeyPairId, string PrivateKey)> SigningKeyAsync(CancellationToken cancellationToken)
    {
        var service = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<IResourceWithEnvironment>().Single(r => r.Name == "imageservice");
        // Obsolete in favour of a builder API that does the same with more ceremony; this one reads plain values.
#pragma warning disable CS0618
        var environment = await service.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run).AsTask().WaitAsync(cancellationToken);
#pragma warning restore CS0618
        return (environment["Media__KeyPairId"], environment["Media__PrivateKey"]);
    }
}
