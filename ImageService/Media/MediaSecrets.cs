using System.Security.Cryptography;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Media;

/// <summary>The two media secrets, loaded: the key that signs access, and the codec of opaque media keys.</summary>
public sealed record LoadedMediaSecrets(RSA SigningKey, MediaPathCodec Paths);

/// <summary>
/// The media secrets: from configuration locally (the AppHost makes them), from SSM SecureStrings in AWS (deploy.sh
/// writes them). Read once, on first use, in one SSM call.
/// </summary>
public sealed class MediaSecrets(IOptions<MediaOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private LoadedMediaSecrets? _loaded;

    public async ValueTask<LoadedMediaSecrets> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _loaded) is { } loaded)
        {
            return loaded;
        }

        await _loading.WaitAsync(cancellationToken);
        try
        {
            if (_loaded is null)
            {
                var media = options.Value;
                var fromSsm = await ReadParametersAsync([media.PrivateKeyParameter, media.PathKeyParameter], cancellationToken);
                var key = RSA.Create();
                key.ImportFromPem(media.PrivateKey is { Length: > 0 } pem ? pem : fromSsm[media.PrivateKeyParameter!]);
                var pathKey = Convert.FromBase64String(media.PathKey is { Length: > 0 } configured ? configured : fromSsm[media.PathKeyParameter!].Trim());
                Volatile.Write(ref _loaded, new LoadedMediaSecrets(key, new MediaPathCodec(pathKey)));
            }

            return _loaded;
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>The owner's opaque media key.</summary>
    public async ValueTask<string> MediaKeyOfAsync(string owner, CancellationToken cancellationToken) =>
        (await GetAsync(cancellationToken)).Paths.Encode(owner);

    private static async Task<Dictionary<string, string>> ReadParametersAsync(string?[] names, CancellationToken cancellationToken)
    {
        var wanted = names.OfType<string>().Where(n => n.Length > 0).ToList();
        if (wanted.Count == 0)
        {
            return [];
        }

        using var ssm = new AmazonSimpleSystemsManagementClient(new AmazonSimpleSystemsManagementConfig { Timeout = TimeSpan.FromSeconds(5), MaxErrorRetry = 2 });
        var response = await ssm.GetParametersAsync(new GetParametersRequest { Names = wanted, WithDecryption = true }, cancellationToken);
        if (response.InvalidParameters is { Count: > 0 } missing)
        {
            throw new InvalidOperationException($"SSM has no parameter {string.Join(", ", missing)}; Infra/Deploy/deploy.sh writes them.");
        }

        return response.Parameters.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
    }

    public void Dispose()
    {
        _loaded?.SigningKey.Dispose();
        _loading.Dispose();
    }
}
