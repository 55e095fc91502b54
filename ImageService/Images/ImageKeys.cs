using System.Security.Cryptography;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// Where an image's objects live. Originals: <c>originals/&lt;owner&gt;/&lt;id&gt;.&lt;ext&gt;</c> (one per id; a presigned
/// URL is signed for it; never served). Renditions: <c>renditions/&lt;media key&gt;/&lt;id&gt;/&lt;attempt&gt;/&lt;name&gt;.&lt;fmt&gt;</c>,
/// served as <c>/media/...</c>: the media key is the owner's opaque stand-in (<see cref="Media.MediaPathCodec"/>);
/// renditions stored before media keys existed have the owner's <c>sub</c> there. Each processing attempt writes under
/// its own prefix and the item names the attempt it committed, so removing a failed or superseded attempt can never
/// touch the objects a committed item references.
/// </summary>
public static class ImageKeys
{
    public const string OriginalsPrefix = "originals/";
    public const string RenditionsPrefix = "renditions/";

    public static string Original(string owner, string id, string extension) => $"{OriginalsPrefix}{owner}/{id}.{extension}";

    public static string Rendition(string mediaKey, string id, string attempt, string name, EncodedFormat format) =>
        $"{RenditionsPrefix}{mediaKey}/{id}/{attempt}/{name}.{format.Extension()}";

    /// <summary>Every rendition of every attempt of one image, under one owner segment (media key or legacy sub).</summary>
    public static string RenditionsOf(string ownerSegment, string id) => $"{RenditionsPrefix}{ownerSegment}/{id}/";

    /// <summary>The original of one image, whatever its extension.</summary>
    public static string OriginalOf(string owner, string id) => $"{OriginalsPrefix}{owner}/{id}.";

    /// <summary>A new attempt token: 12 lowercase base32 characters (60 random bits).</summary>
    public static string NewAttempt()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[12];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[bytes[i] & 31];
        }

        return new string(chars);
    }

    public static bool TryParseOriginal(string key, out string owner, out string id)
    {
        owner = id = string.Empty;
        if (key.Split('/') is not ["originals", var sub, var file] || !IsSafeOwner(sub))
        {
            return false;
        }

        var dot = file.LastIndexOf('.');
        if (dot != 26 || !ImageId.IsValid(file[..dot]) || ImageFormats.FromExtension(file[(dot + 1)..]) is null)
        {
            return false;
        }

        (owner, id) = (sub, file[..dot]);
        return true;
    }

    /// <summary>
    /// Owner segment (a media key, or the sub of renditions stored before media keys), id and attempt of a rendition
    /// key. Keys written before attempts existed
    /// (<c>renditions/&lt;owner&gt;/&lt;id&gt;/&lt;name&gt;.&lt;fmt&gt;</c>) parse with an empty attempt.
    /// </summary>
    public static bool TryParseRendition(string key, out string ownerSegment, out string id, out string attempt)
    {
        ownerSegment = id = attempt = string.Empty;
        switch (key.Split('/'))
        {
            case ["renditions", var sub, var image, var file] when IsSafeOwner(sub) && ImageId.IsValid(image) && file.Length > 0:
                (ownerSegment, id) = (sub, image);
                return true;
            case ["renditions", var sub, var image, var token, var file] when IsSafeOwner(sub) && ImageId.IsValid(image) && token.Length > 0 && file.Length > 0:
                (ownerSegment, id, attempt) = (sub, image, token);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Cognito subjects are UUIDs; anything else never becomes part of a key.</summary>
    public static bool IsSafeOwner(string owner) =>
        owner.Length is > 0 and <= 128 && owner.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
