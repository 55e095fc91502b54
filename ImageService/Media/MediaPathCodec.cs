using System.Security.Cryptography;
using System.Text;

namespace ImageAspire.ImageService.Media;

/// <summary>
/// The opaque media key that stands for an owner in rendition keys and media URLs: the owner's id encrypted
/// deterministically (a synthetic IV, as in AES-SIV: the IV is an HMAC of the id and doubles as its check, then
/// AES-CTR), so one owner always has one key, nobody without the key learns the id from it, and the service can read
/// the owner back from an object's key (the sweeper needs it) without a lookup. Keys start with <c>m</c> and are
/// lowercase base32, which no Cognito <c>sub</c> (a UUID, with dashes) is.
/// </summary>
public sealed class MediaPathCodec
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private const int IvLength = 16;
    private const int MinimumLength = 1 + ((IvLength + 1) * 8 / 5);
    private static readonly System.Buffers.SearchValues<char> Base32Characters = System.Buffers.SearchValues.Create(Alphabet);

    private readonly byte[] _macKey;
    private readonly byte[] _encryptionKey;

    public MediaPathCodec(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < 32)
        {
            throw new ArgumentException("The media path key must be at least 32 bytes.", nameof(secret));
        }

        _macKey = HMACSHA256.HashData(secret, "imageaspire media path mac"u8);
        _encryptionKey = HMACSHA256.HashData(secret, "imageaspire media path encryption"u8);
    }

    public string Encode(string owner)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var plain = Encoding.UTF8.GetBytes(owner);
        var sealedBytes = new byte[IvLength + plain.Length];
        HMACSHA256.HashData(_macKey, plain).AsSpan(0, IvLength).CopyTo(sealedBytes);
        Ctr(sealedBytes.AsSpan(0, IvLength), plain, sealedBytes.AsSpan(IvLength));
        return "m" + Base32(sealedBytes);
    }

    /// <summary>True when <paramref name="segment"/> has the form of a media key (whether or not this key made it).</summary>
    public static bool LooksLikeMediaKey(string segment) =>
        segment is ['m', ..] && segment.Length >= MinimumLength && segment.AsSpan(1).IndexOfAnyExcept(Base32Characters) < 0;

    /// <summary>The owner a media key stands for; false when it was not made with this key or was altered.</summary>
    public bool TryDecode(string mediaKey, out string owner)
    {
        owner = string.Empty;
        if (!LooksLikeMediaKey(mediaKey) || FromBase32(mediaKey.AsSpan(1)) is not { Length: > IvLength } sealedBytes)
        {
            return false;
        }

        var plain = new byte[sealedBytes.Length - IvLength];
        Ctr(sealedBytes.AsSpan(0, IvLength), sealedBytes.AsSpan(IvLength), plain);
        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_macKey, plain).AsSpan(0, IvLength), sealedBytes.AsSpan(0, IvLength)))
        {
            return false;
        }

        owner = Encoding.UTF8.GetString(plain);
        // One spelling per owner: a key whose unused trailing bits were changed is not the same key.
        return string.Equals(Encode(owner), mediaKey, StringComparison.Ordinal);
    }

    private void Ctr(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> input, Span<byte> output)
    {
        using var aes = Aes.Create();
        aes.Key = _encryptionKey;
        Span<byte> counter = stackalloc byte[16];
        Span<byte> stream = stackalloc byte[16];
        iv.CopyTo(counter);
        for (var offset = 0; offset < input.Length; offset += 16)
        {
            aes.EncryptEcb(counter, stream, PaddingMode.None);
            var length = Math.Min(16, input.Length - offset);
            for (var i = 0; i < length; i++)
            {
                output[offset + i] = (byte)(input[offset + i] ^ stream[i]);
            }

            for (var i = 15; i >= 0 && ++counter[i] == 0; i--)
            {
            }
        }
    }

    private static string Base32(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder((bytes.Length * 8 / 5) + 1);
        var (buffer, bits) = (0, 0);
        foreach (var b in bytes)
        {
            buffer = ((buffer << 8) | b) & 0xFFFF;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            text.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return text.ToString();
    }

    private static byte[]? FromBase32(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length * 5 / 8);
        var (buffer, bits) = (0, 0);
        foreach (var c in text)
        {
            var value = Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (value < 0)
            {
                return null;
            }

            buffer = ((buffer << 5) | value) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. bytes];
    }
}
