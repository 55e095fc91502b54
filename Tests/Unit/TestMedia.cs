using System.Security.Cryptography;
using ImageAspire.ImageService.Media;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Unit;

/// <summary>Media secrets for in-process tests: one key pair per test process (RSA key generation is slow), a fixed path key.</summary>
public static class TestMedia
{
    public const string KeyPairId = "KTESTMEDIA";

    public static readonly string PathKey = Convert.ToBase64String(SHA256.HashData("imageaspire unit tests"u8));

    private static readonly Lazy<string> PrivateKeyPem = new(() =>
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportPkcs8PrivateKeyPem();
    });

    public static MediaOptions Options() => new() { KeyPairId = KeyPairId, PrivateKey = PrivateKeyPem.Value, PathKey = PathKey };

    public static MediaSecrets Secrets() => new(Microsoft.Extensions.Options.Options.Create(Options()));
}
