using System.Globalization;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Storage;

public sealed record ImagePage(IReadOnlyList<ImageRecord> Items, string? NextCursor);

/// <summary>The cursor of a listing is not one this service issued for this caller.</summary>
public sealed class InvalidCursorException : Exception
{
    public InvalidCursorException() : base("The cursor is not valid.") { }

    public InvalidCursorException(string message) : base(message) { }

    public InvalidCursorException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Image metadata: one item per image, single-item conditional writes only (no transactions).</summary>
public interface IImageMetadataStore
{
    /// <summary>Writes a new item; false if one with the same key exists.</summary>
    Task<bool> TryCreateAsync(ImageRecord image, CancellationToken cancellationToken);

    Task<ImageRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<ImagePage> ListAsync(string owner, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>Replaces the item if it is still at <paramref name="expectedVersion"/>; the new version is one more.</summary>
    Task<ImageRecord?> TryUpdateAsync(ImageRecord image, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the item with a <see cref="ImageStatus.Discarded"/> tombstone if it is still at
    /// <paramref name="expectedVersion"/>, or, when that is null, if there is no item yet (which fences a create
    /// that may still be in flight). False when the condition failed.
    /// </summary>
    Task<bool> TryDiscardAsync(string owner, string id, long? expectedVersion, CancellationToken cancellationToken);

    /// <summary>The items of these ids that exist (tombstones included), read strongly consistent, in no particular order.</summary>
    Task<IReadOnlyList<ImageRecord>> GetManyAsync(string owner, IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>Images whose analysis has work due at <paramref name="now"/> (see <see cref="ImageRecord.AnalysisDueAt"/>), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<(string Owner, string Id)>> ListAnalysisDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);
}

public sealed class DynamoDbImageMetadataStore(IAmazonDynamoDB dynamoDb, IOptions<StorageOptions> options, TimeProvider time) : IImageMetadataStore
{
    private const string ImagePrefix = "IMAGE#";

    /// <summary>The sparse index of images whose analysis has work due (the template's GlobalSecondaryIndexes).</summary>
    public const string AnalysisDueIndex = "AnalysisDue";

    /// <summary>
    /// The index's partitions: an outage of Rekognition makes every upload due at once, and one partition of an index
    /// takes about 1,000 writes a second; spread over these, the index never throttles the table's own writes.
    /// </summary>
    public const int AnalysisDueShards = 8;
    private string Table => options.Value.Table;

    private const string UserPrefix = "USER#";

    public static string PartitionKey(string owner) => UserPrefix + owner;

    public async Task<bool> TryCreateAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        return await TryPutAsync(image with { Version = 1 }, null, cancellationToken);
    }

    public async Task<ImageRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        var response = await dynamoDb.GetItemAsync(new GetItemRequest
        {
            TableName = Table,
            Key = Key(owner, id),
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? FromItem(item) : null;
    }

    public async Task<ImagePage> ListAsync(string owner, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var request = new QueryRequest
        {
            TableName = Table,
            KeyConditionExpression = "PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues = new()
            {
                [":pk"] = new AttributeValue { S = PartitionKey(owner) },
                [":prefix"] = new AttributeValue { S = ImagePrefix },
                [":discarded"] = new AttributeValue { S = nameof(ImageStatus.Discarded) },
            },
            // Limit counts items before the filter, so a page may hold fewer than asked; the cursor still moves on.
            FilterExpression = "#status <> :discarded",
            ExpressionAttributeNames = new() { ["#status"] = "Status" },
            ScanIndexForward = false,
            Limit = limit,
            ConsistentRead = true,
        };
        if (cursor is not null)
        {
            request.ExclusiveStartKey = Key(owner, DecodeCursor(cursor));
        }

        var response = await dynamoDb.QueryAsync(request, cancellationToken);
        var items = (response.Items ?? []).Select(FromItem).ToList();
        var next = response.LastEvaluatedKey is { Count: > 0 } last && last.TryGetValue("SK", out var sk)
            ? EncodeCursor(sk.S[ImagePrefix.Length..])
            : null;
        return new ImagePage(items, next);
    }

    public async Task<ImageRecord?> TryUpdateAsync(ImageRecord image, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var updated = image with { Version = expectedVersion + 1, UpdatedAt = time.GetUtcNow() };
        return await TryPutAsync(updated, expectedVersion, cancellationToken) ? updated : null;
    }

    public async Task<bool> TryDiscardAsync(string owner, string id, long? expectedVersion, CancellationToken cancellationToken)
    {
        var tombstone = ImageRecord.Tombstone(owner, id, expectedVersion, time.GetUtcNow());
        return await TryPutAsync(tombstone, expectedVersion, cancellationToken);
    }

    private async Task<bool> TryPutAsync(ImageRecord image, long? expectedVersion, CancellationToken cancellationToken)
    {
        var request = new PutItemRequest { TableName = Table, Item = ToItem(image) };
        if (expectedVersion is { } expected)
        {
            request.ConditionExpression = "#version = :expected";
            request.ExpressionAttributeNames = new() { ["#version"] = "Version" };
            request.ExpressionAttributeValues = new() { [":expected"] = new AttributeValue { N = expected.ToString(CultureInfo.InvariantCulture) } };
        }
        else
        {
            request.ConditionExpression = "attribute_not_exists(PK)";
        }

        try
        {
            await dynamoDb.PutItemAsync(request, cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<ImageRecord>> GetManyAsync(string owner, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new List<ImageRecord>(ids.Count);
        foreach (var chunk in ids.Distinct(StringComparer.Ordinal).Chunk(100))
        {
            await DynamoDbBatches.SendAsync(
                new Dictionary<string, KeysAndAttributes>
                {
                    [Table] = new KeysAndAttributes { Keys = [.. chunk.Select(id => Key(owner, id))], ConsistentRead = true },
                },
                async pending =>
                {
                    var response = await dynamoDb.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = pending }, cancellationToken);
                    found.AddRange((response.Responses?.GetValueOrDefault(Table) ?? []).Select(FromItem));
                    return response.UnprocessedKeys is { Count: > 0 } undone ? undone : null;
                },
                4,
                _ => "Some images could not be read after 4 tries.",
                cancellationToken);
        }

        return found;
    }

    public async Task<IReadOnlyList<(string Owner, string Id)>> ListAnalysisDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var due = new List<(string, string)>();
        for (var shard = 0; shard < AnalysisDueShards && due.Count < limit; shard++)
        {
            var response = await dynamoDb.QueryAsync(new QueryRequest
            {
                TableName = Table,
                IndexName = AnalysisDueIndex,
                KeyConditionExpression = "AnalysisDue = :shard AND AnalysisDueAt <= :now",
                ExpressionAttributeValues = new()
                {
                    [":shard"] = S(Shard(shard)),
                    [":now"] = S(now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)),
                },
                Limit = limit - due.Count,
            }, cancellationToken);
            due.AddRange((response.Items ?? []).Select(i => (i["PK"].S[UserPrefix.Length..], i["SK"].S[ImagePrefix.Length..])));
        }

        return due;
    }

    private static string Shard(int shard) => string.Create(CultureInfo.InvariantCulture, $"DUE#{shard}");

    private static Dictionary<string, AttributeValue> Key(string owner, string id) => new()
    {
        ["PK"] = new AttributeValue { S = PartitionKey(owner) },
        ["SK"] = new AttributeValue { S = ImagePrefix + id },
    };

    // The cursor names only the last image id; it is re-scoped to the caller's partition on use, so a cursor
    // taken from another user's listing cannot reach into their images.
    internal static string EncodeCursor(string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"v1:{id}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static string DecodeCursor(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            if (text.StartsWith("v1:", StringComparison.Ordinal) && ImageId.IsValid(text[3..]))
            {
                return text[3..];
            }
        }
        catch (FormatException)
        {
        }

        throw new InvalidCursorException();
    }

    private static Dictionary<string, AttributeValue> ToItem(ImageRecord image)
    {
        var item = Key(image.Owner, image.Id);
        item["Id"] = S(image.Id);
        item["Owner"] = S(image.Owner);
        item["Status"] = S(image.Status.ToString());
        item["OriginalKey"] = S(image.OriginalKey);
        item["ContentType"] = S(image.ContentType);
        item["Width"] = N(image.Width);
        item["Height"] = N(image.Height);
        item["Bytes"] = N(image.Bytes);
        item["CreatedAt"] = S(image.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        item["UpdatedAt"] = S(image.UpdatedAt.ToString("O", CultureInfo.InvariantCulture));
        item["Version"] = N(image.Version);
        item["Renditions"] = new AttributeValue
        {
            L = image.Renditions.Select(r => new AttributeValue
            {
                M = new()
                {
                    ["Name"] = S(r.Name),
                    ["Format"] = S(r.Format),
                    ["Width"] = N(r.Width),
                    ["Height"] = N(r.Height),
                    ["Bytes"] = N(r.Bytes),
                    ["Key"] = S(r.Key),
                },
            }).ToList(),
        };
        if (image.FileName is not null) item["FileName"] = S(image.FileName);
        if (image.Sha256 is not null) item["Sha256"] = S(image.Sha256);
        if (image.FailureReason is not null) item["FailureReason"] = S(image.FailureReason);
        if (image.UploadExpiresAt is { } expires) item["UploadExpiresAt"] = S(expires.ToString("O", CultureInfo.InvariantCulture));
        if (image.ExpectedBytes is { } expected) item["ExpectedBytes"] = N(expected);
        if (image.ClaimedAt is { } claimed) item["ClaimedAt"] = S(claimed.ToString("O", CultureInfo.InvariantCulture));
        if (image.Attempt is not null) item["Attempt"] = S(image.Attempt);
        if (image.FramedOnFaces) item["FramedOnFaces"] = new AttributeValue { BOOL = true };
        // One bounded JSON document: read and written whole with the item, never queried inside.
        if (image.Analysis is not null) item["Analysis"] = S(System.Text.Json.JsonSerializer.Serialize(image.Analysis, ImageServiceJsonContext.Default.ImageAnalysis));
        if (image.ConfirmBy is { } confirmBy) item["ConfirmBy"] = S(confirmBy.ToString("O", CultureInfo.InvariantCulture));
        if (image.AnalysisDueAt is { } dueAt)
        {
            // Its last character is random (a ULID's), so the images spread evenly over the shards.
            item["AnalysisDue"] = S(Shard(image.Id[^1] % AnalysisDueShards));
            item["AnalysisDueAt"] = S(dueAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        }

        // Epoch seconds: the attribute the table's TimeToLiveSpecification names.
        if (image.ExpiresAt is { } expiresAt) item["ExpiresAt"] = N(expiresAt.ToUnixTimeSeconds());
        return item;
    }

    private static ImageRecord FromItem(Dictionary<string, AttributeValue> item) => new()
    {
        Owner = item["Owner"].S,
        Id = item["Id"].S,
        Status = Enum.Parse<ImageStatus>(item["Status"].S),
        OriginalKey = item["OriginalKey"].S,
        ContentType = item["ContentType"].S,
        Width = (int)Long(item, "Width"),
        Height = (int)Long(item, "Height"),
        Bytes = Long(item, "Bytes"),
        CreatedAt = Date(item, "CreatedAt")!.Value,
        UpdatedAt = Date(item, "UpdatedAt")!.Value,
        Version = Long(item, "Version"),
        FileName = item.GetValueOrDefault("FileName")?.S,
        Sha256 = item.GetValueOrDefault("Sha256")?.S,
        FailureReason = item.GetValueOrDefault("FailureReason")?.S,
        UploadExpiresAt = Date(item, "UploadExpiresAt"),
        ExpectedBytes = item.ContainsKey("ExpectedBytes") ? Long(item, "ExpectedBytes") : null,
        ClaimedAt = Date(item, "ClaimedAt"),
        Attempt = item.GetValueOrDefault("Attempt")?.S,
        FramedOnFaces = item.GetValueOrDefault("FramedOnFaces")?.BOOL == true,
        Analysis = item.GetValueOrDefault("Analysis")?.S is { } analysis ? System.Text.Json.JsonSerializer.Deserialize(analysis, ImageServiceJsonContext.Default.ImageAnalysis) : null,
        AnalysisDueAt = Date(item, "AnalysisDueAt"),
        ConfirmBy = Date(item, "ConfirmBy"),
        ExpiresAt = item.ContainsKey("ExpiresAt") ? DateTimeOffset.FromUnixTimeSeconds(Long(item, "ExpiresAt")) : null,
        Renditions = (item.GetValueOrDefault("Renditions")?.L ?? []).Select(r => new RenditionRecord(
            r.M["Name"].S, r.M["Format"].S, (int)Long(r.M, "Width"), (int)Long(r.M, "Height"), Long(r.M, "Bytes"), r.M["Key"].S)).ToList(),
    };

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    private static long Long(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.N is { } n ? long.Parse(n, CultureInfo.InvariantCulture) : 0;

    private static DateTimeOffset? Date(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.S is { } s ? DateTimeOffset.Parse(s, CultureInfo.InvariantCulture) : null;
}
