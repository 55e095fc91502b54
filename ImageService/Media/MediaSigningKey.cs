using System.Security.Cryptography;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Media;

/// <summary>
/// The private key that signs media access: from configuration (PEM) locally, from an SSM SecureString in AWS.
/// Read once, on first use, so a cold start that never grants media access never calls SSM.
/// </summary>
public sealed class MediaSigningKey(IOptions<MediaOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private RSA? _key;

    public async ValueTask<RSA> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _key) is { } loaded)
        {
            return loaded;
        }

        await _loading.WaitAsync(cancellationToken);
        try
        {
            if (_key is null)
            {
                var pem = options.Value.PrivateKey is { Length: > 0 } configured
                    ? configured
                    : await ReadParameterAsync(options.Value.PrivateKeyParameter!, cancellationToken);
                var key = RSA.Create();
                key.ImportFromPem(pem);
                Volatile.Write(ref _key, key);
            }

            return _key;
        }
        finally
        {
            _loading.Release();
        }
    }

    private static async Task<string> ReadParameterAsync(string name, CancellationToken cancellationToken)
    {
        using var ssm = new AmazonSimpleSystemsManagementClient(new AmazonSimpleSystemsManagementConfig { Timeout = TimeSpan.FromSeconds(5), MaxErrorRetry = 2 });
        var response = await ssm.GetParameterAsync(new GetParameterRequest { Name = name, WithDecryption = true }, cancellationToken);
        return response.Parameter.Value;
    }

    public void Dispose()
    {
        _key?.Dispose();
        _loading.Dispose();
    }
}
