using ImageAspire.ImageService.Apis;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Media;

/// <summary>A grant of media access: the user's media path, when it ends, and when the web app should renew it.</summary>
public sealed record MediaSession(string Prefix, DateTimeOffset ExpiresAt, DateTimeOffset RenewAfter);

/// <summary>One signed grant for one path prefix (a cookie set is scoped to it).</summary>
public sealed record MediaGrant(string Prefix, CloudFrontSignature Signature);

/// <summary>
/// Signs one user's access to their own renditions for the configured lifetime: <c>/media/&lt;media key&gt;/*</c>, and
/// <c>/media/&lt;sub&gt;/*</c>, where renditions stored before media keys existed stay (they are not moved).
/// </summary>
public sealed class MediaAccess(MediaSecrets secrets, IOptions<MediaOptions> options, TimeProvider time)
{
    public static string PrefixOf(string mediaKey) => $"{ImageResource.MediaPrefix}{mediaKey}/";

    public async Task<(MediaSession Session, IReadOnlyList<MediaGrant> Grants)> GrantAsync(string owner, CancellationToken cancellationToken)
    {
        var loaded = await secrets.GetAsync(cancellationToken);
        var now = time.GetUtcNow();
        var lifetime = options.Value.CookieLifetime;
        var expires = now + lifetime;
        var prefixes = Prefixes(loaded.Paths, owner);
        // Any scheme and host: the cookie is bound to the site's host by the browser, and the service (behind API
        // Gateway) does not know the distribution's domain.
        var grants = prefixes
            .Select(p => new MediaGrant(p, CloudFrontSigner.Sign(loaded.SigningKey, options.Value.KeyPairId, $"http*://*{p}*", expires)))
            .ToList();
        return (new MediaSession(prefixes[0], expires, now + (lifetime / 2)), grants);
    }

    /// <summary>The path prefixes a user's cookies are scoped to (for removing them).</summary>
    public async Task<IReadOnlyList<string>> PrefixesAsync(string owner, CancellationToken cancellationToken) =>
        Prefixes((await secrets.GetAsync(cancellationToken)).Paths, owner);

    // The media key's prefix first (the session's), then the legacy prefix under the sub.
    private static string[] Prefixes(MediaPathCodec paths, string owner) => [PrefixOf(paths.Encode(owner)), PrefixOf(owner)];
}
