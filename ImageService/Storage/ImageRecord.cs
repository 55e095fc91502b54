using System.Security.Cryptography;

namespace ImageAspire.ImageService.Storage;

public enum ImageStatus
{
    Pending,
    Processing,
    Ready,
    Failed,

    /// <summary>
    /// A tombstone: the image was deleted or its upload refused. It fences the id (a late create of it fails its
    /// condition), reads as missing everywhere, and expires through the table's TTL.
    /// </summary>
    Discarded,
}

public sealed record RenditionRecord(string Name, string Format, int Width, int Height, long Bytes, string Key);

/// <summary>One image of one owner: the DynamoDB item <c>USER#&lt;sub&gt;</c> / <c>IMAGE#&lt;id&gt;</c>.</summary>
public sealed record ImageRecord
{
    public required string Owner { get; init; }
    public required string Id { get; init; }
    public required ImageStatus Status { get; init; }
    public string? FileName { get; init; }
    public required string OriginalKey { get; init; }
    public required string ContentType { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public long Bytes { get; init; }
    public string? Sha256 { get; init; }
    public IReadOnlyList<RenditionRecord> Renditions { get; init; } = [];
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Optimistic lock: every write is conditional on the version it read.</summary>
    public long Version { get; init; }
    public string? FailureReason { get; init; }
    /// <summary>Presigned uploads only: when the upload URL stops working.</summary>
    public DateTimeOffset? UploadExpiresAt { get; init; }
    /// <summary>Presigned uploads only: the size the caller announced.</summary>
    public long? ExpectedBytes { get; init; }
    /// <summary>While <see cref="ImageStatus.Processing"/>: when the worker claimed it (a stale claim may be taken over).</summary>
    public DateTimeOffset? ClaimedAt { get; init; }
    /// <summary>
    /// The processing attempt whose renditions the item names (Ready) or that holds the claim (Processing); every
    /// attempt writes under its own key prefix, so a losing or unknown attempt's objects never overlap the winner's.
    /// </summary>
    public string? Attempt { get; init; }
    /// <summary>What Rekognition found (null on items written before analysis existed).</summary>
    public Analysis.ImageAnalysis? Analysis { get; init; }
    /// <summary>
    /// Whether the square renditions were cut around the faces found (or there are none, or they can no longer be made
    /// again). When faces are found only later (an analysis that outlasted the face wait, or a retry), the renditions
    /// are made again (<c>SquareReframer</c>).
    /// </summary>
    public bool FramedOnFaces { get; init; }
    /// <summary>
    /// Set while the image's analysis still has work to do — a retryable failure, or label entries not yet written —
    /// from when the next try may run. The sweep finds such images through the table's sparse <c>AnalysisDue</c> index.
    /// </summary>
    public DateTimeOffset? AnalysisDueAt { get; init; }
    /// <summary>
    /// Set while a direct upload's item waits for its confirmation: the item is created unconfirmed, hidden from every
    /// reader, and confirmed (this cleared, by a write conditional on the version) only just before the caller is told
    /// <c>201</c>. An item still unconfirmed after this moment was never answered <c>201</c>: the sweep discards it
    /// (conditionally, so a confirmation that landed first wins). The refusal is therefore decided by what is stored,
    /// whatever happens to the process that made it.
    /// </summary>
    public DateTimeOffset? ConfirmBy { get; init; }
    /// <summary>Tombstones only: when the table's TTL may remove the item.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }


    /// <summary>How long a tombstone fences its id before the table's TTL removes it; far longer than any write can be held.</summary>
    public static readonly TimeSpan TombstoneLifetime = TimeSpan.FromDays(1);

    /// <summary>The tombstone that replaces the item at <paramref name="expectedVersion"/> (null: fences an id with no item yet).</summary>
    public static ImageRecord Tombstone(string owner, string id, long? expectedVersion, DateTimeOffset now) => new()
    {
        Owner = owner,
        Id = id,
        Status = ImageStatus.Discarded,
        OriginalKey = string.Empty,
        ContentType = string.Empty,
        CreatedAt = now,
        UpdatedAt = now,
        Version = (expectedVersion ?? 0) + 1,
        ExpiresAt = now + TombstoneLifetime,
    };
}

/// <summary>ULIDs: 48-bit millisecond time + 80 random bits, Crockford base32, so ids sort by creation time.</summary>
public static class ImageId
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(DateTimeOffset? now = null)
    {
        var time = (ulong)(now ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(time & 0xFF);
            time >>= 8;
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        var value = new UInt128(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
        Span<char> chars = stackalloc char[26];
        for (var i = 25; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }

    /// <summary>When the id was made (its first 48 bits); the id must be valid.</summary>
    public static DateTimeOffset TimeOf(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        ulong value = 0;
        // The first 10 characters hold the 48-bit time (50 bits, the top two zero).
        foreach (var c in id.AsSpan(0, 10))
        {
            value = (value << 5) | (uint)Alphabet.IndexOf(c, StringComparison.Ordinal);
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)value);
    }

    public static bool IsValid(string? id) =>
        id is { Length: 26 } && id[0] <= '7' && id.All(c => Alphabet.Contains(c, StringComparison.Ordinal));
}
