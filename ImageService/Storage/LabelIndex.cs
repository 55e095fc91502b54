using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Storage;

/// <summary>One page of a label's entries: image ids, newest first.</summary>
public sealed record LabelPage(IReadOnlyList<string> Ids, string? NextCursor);

/// <summary>
/// Which of a user's images carry a label. Entries are derived data: a reader checks each against the image's item,
/// so an entry that outlived its image or its label shows nothing (and is removed when found).
/// </summary>
public interface ILabelIndex
{
    /// <summary>Writes an entry per label for the image; writing them again changes nothing.</summary>
    Task AddAsync(string owner, string id, IReadOnlyCollection<string> labels, CancellationToken cancellationToken);

    Task RemoveAsync(string owner, string id, IReadOnlyCollection<string> labels, CancellationToken cancellationToken);

    /// <summary>Ids of the images with an entry for <paramref name="label"/> (case-insensitive), newest first.</summary>
    Task<LabelPage> FindAsync(string owner, string label, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>The user's labels and how many entries each has, counting at most <paramref name="maxEntries"/> entries.</summary>
    Task<IReadOnlyList<(string Label, int Images)>> SummarizeAsync(string owner, int maxEntries, CancellationToken cancellationToken);
}

/// <summary>
/// The entries are items in the images table, in the user's own partition: <c>USER#&lt;sub&gt;</c> /
/// <c>LABEL#&lt;label, lower case&gt;#&lt;image id&gt;</c>. One query per page reads only that label's entries,
/// newest first (image ids sort by time), without a scan and without an index whose partition is a label shared
/// by every user.
/// </summary>
public sealed class DynamoDbLabelIndex(IAmazonDynamoDB dynamoDb, IOptions<StorageOptions> options) : ILabelIndex
{
    public const string Prefix = "LABEL#";
    private const int BatchSize = 25;
    private const int MaxBatchTries = 4;

    private string Table => options.Value.Table;

    /// <summary>How a label is keyed: trimmed, lower case, and without the key's separator.</summary>
    public static string KeyOf(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return label.Trim().ToLowerInvariant().Replace('#', ' ');
    }

    public Task AddAsync(string owner, string id, IReadOnlyCollection<string> labels, CancellationToken cancellationToken) =>
        WriteAsync([.. labels.Select(label => new WriteRequest(new PutRequest(new Dictionary<string, AttributeValue>
        {
            ["PK"] = new(DynamoDbImageMetadataStore.PartitionKey(owner)),
            ["SK"] = new(SortKey(label, id)),
            ["Id"] = new(id),
            ["Label"] = new(label),
        })))], cancellationToken);

    public Task RemoveAsync(string owner, string id, IReadOnlyCollection<string> labels, CancellationToken cancellationToken) =>
        WriteAsync([.. labels.Select(label => new WriteRequest(new DeleteRequest(new Dictionary<string, AttributeValue>
        {
            ["PK"] = new(DynamoDbImageMetadataStore.PartitionKey(owner)),
            ["SK"] = new(SortKey(label, id)),
        })))], cancellationToken);

    public async Task<LabelPage> FindAsync(string owner, string label, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var prefix = $"{Prefix}{KeyOf(label)}#";
        var request = new QueryRequest
        {
            TableName = Table,
            KeyConditionExpression = "PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues = new()
            {
                [":pk"] = new(DynamoDbImageMetadataStore.PartitionKey(owner)),
                [":prefix"] = new(prefix),
            },
            ProjectionExpression = "Id",
            ScanIndexForward = false,
            Limit = limit,
        };
        if (cursor is not null)
        {
            request.ExclusiveStartKey = new()
            {
                ["PK"] = new(DynamoDbImageMetadataStore.PartitionKey(owner)),
                ["SK"] = new(prefix + DynamoDbImageMetadataStore.DecodeCursor(cursor)),
            };
        }

        var response = await dynamoDb.QueryAsync(request, cancellationToken);
        var ids = (response.Items ?? []).Select(i => i["Id"].S).ToList();
        var next = response.LastEvaluatedKey is { Count: > 0 } last && last.TryGetValue("SK", out var sk)
            ? DynamoDbImageMetadataStore.EncodeCursor(sk.S[prefix.Length..])
            : null;
        return new LabelPage(ids, next);
    }

    public async Task<IReadOnlyList<(string Label, int Images)>> SummarizeAsync(string owner, int maxEntries, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, (string Label, int Images)>(StringComparer.Ordinal);
        Dictionary<string, AttributeValue>? start = null;
        var read = 0;
        do
        {
            var response = await dynamoDb.QueryAsync(new QueryRequest
            {
                TableName = Table,
                KeyConditionExpression = "PK = :pk AND begins_with(SK, :prefix)",
                ExpressionAttributeValues = new()
                {
                    [":pk"] = new(DynamoDbImageMetadataStore.PartitionKey(owner)),
                    [":prefix"] = new(Prefix),
                },
                ProjectionExpression = "SK, Label",
                Limit = Math.Min(1000, maxEntries - read),
                ExclusiveStartKey = start,
            }, cancellationToken);
            foreach (var item in response.Items ?? [])
            {
                var sk = item["SK"].S;
                var key = sk[Prefix.Length..sk.LastIndexOf('#')];
                var label = item.GetValueOrDefault("Label")?.S ?? key;
                counts[key] = counts.TryGetValue(key, out var seen) ? (seen.Label, seen.Images + 1) : (label, 1);
                read++;
            }

            start = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null && read < maxEntries);

        return [.. counts.Values.OrderByDescending(c => c.Images).ThenBy(c => c.Label, StringComparer.OrdinalIgnoreCase)];
    }

    private static string SortKey(string label, string id) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{KeyOf(label)}#{id}");

    private async Task WriteAsync(List<WriteRequest> writes, CancellationToken cancellationToken)
    {
        foreach (var chunk in writes.Chunk(BatchSize))
        {
            // Throttled past the tries: the caller keeps the image due, so the sweep writes the entries later.
            await DynamoDbBatches.SendAsync(
                new Dictionary<string, List<WriteRequest>> { [Table] = [.. chunk] },
                async pending => (await dynamoDb.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, cancellationToken)).UnprocessedItems is { Count: > 0 } undone ? undone : null,
                MaxBatchTries,
                undone => string.Create(CultureInfo.InvariantCulture, $"{undone.Values.Sum(v => v.Count)} label entries were not written after {MaxBatchTries} tries."),
                cancellationToken);
        }
    }
}
