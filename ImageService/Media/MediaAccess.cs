using ImageAspire.ImageService.Apis;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Media;

/// <summary>A grant of media access: the path it covers, when it ends, and when the web app should renew it.</summary>
public sealed record MediaSession(string Prefix, DateTimeOffset ExpiresAt, DateTimeOffset RenewAfter);

/// <summary>Signs one user's access to their own renditions, <c>/media/&lt;owner&gt;/*</c>, for the configured lifetime.</summary>
public sealed class MediaAccess(MediaSigningKey signingKey, IOptions<MediaOptions> options, TimeProvider time)
{
    public static string PrefixOf(string owner) => $"{ImageResource.MediaPrefix}{owner}/";

    public async Task<(MediaSession Session, CloudFrontSignature Signature)> GrantAsync(string owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lifetime = options.Value.CookieLifetime;
        var expires = now + lifetime;
        var prefix = PrefixOf(owner);
        // Any scheme and host: the cookie is bound to the site's host by the browser, and the service (behind API
        // Gateway) does not know the distribution's domain.
        var signature = CloudFrontSigner.Sign(await signingKey.GetAsync(cancellationToken), options.Value.KeyPairId, $"http*://*{prefix}*", expires);
        return (new MediaSession(prefix, expires, now + (lifetime / 2)), signature);
    }
}
