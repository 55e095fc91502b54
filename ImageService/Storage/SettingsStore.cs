using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using ImageAspire.ImageService.Processing;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Storage;

/// <summary>The processing settings item (<c>SETTINGS</c>/<c>DEFAULT</c>), read through a short cache.</summary>
public interface ISettingsStore
{
    Task<ProcessingSettings> GetAsync(CancellationToken cancellationToken);

    Task SaveAsync(ProcessingSettings settings, CancellationToken cancellationToken);
}

public sealed class DynamoDbSettingsStore(
    IAmazonDynamoDB dynamoDb,
    IOptions<StorageOptions> storage,
    IOptions<ProcessingOptions> processing,
    TimeProvider time,
    ILogger<DynamoDbSettingsStore> logger) : ISettingsStore
{
    // One immutable object swapped whole: concurrent requests read and write it without a lock, and a reader can
    // never pair one read's settings with another's time (as a nullable struct tuple could tear).
    private volatile CachedSettings? _cached;

    public async Task<ProcessingSettings> GetAsync(CancellationToken cancellationToken)
    {
        if (_cached is { } cached && time.GetUtcNow() - cached.ReadAt < processing.Value.SettingsCacheDuration)
        {
            return cached.Settings;
        }

        var response = await dynamoDb.GetItemAsync(new GetItemRequest
        {
            TableName = storage.Value.Table,
            Key = Key(),
        }, cancellationToken);
        var settings = ProcessingSettings.Default;
        if (response.Item is { Count: > 0 } item && item.TryGetValue("Document", out var document))
        {
            try
            {
                var stored = JsonSerializer.Deserialize(document.S, ImageServiceJsonContext.Default.ProcessingSettings);
                if (stored is not null && stored.Validate().Count == 0)
                {
                    settings = stored;
                }
                else
                {
                    logger.LogWarning("The stored settings are not valid; using the defaults");
                }
            }
            catch (JsonException ex)
            {
                logger.LogWarning(ex, "The stored settings cannot be read; using the defaults");
            }
        }

        _cached = new CachedSettings(settings, time.GetUtcNow());
        return settings;
    }

    public async Task SaveAsync(ProcessingSettings settings, CancellationToken cancellationToken)
    {
        await dynamoDb.PutItemAsync(new PutItemRequest
        {
            TableName = storage.Value.Table,
            Item = new Dictionary<string, AttributeValue>(Key())
            {
                ["Document"] = new() { S = JsonSerializer.Serialize(settings, ImageServiceJsonContext.Default.ProcessingSettings) },
                ["UpdatedAt"] = new() { S = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture) },
            },
        }, cancellationToken);
        _cached = new CachedSettings(settings, time.GetUtcNow());
    }

    private sealed record CachedSettings(ProcessingSettings Settings, DateTimeOffset ReadAt);

    private static Dictionary<string, AttributeValue> Key() => new()
    {
        ["PK"] = new() { S = "SETTINGS" },
        ["SK"] = new() { S = "DEFAULT" },
    };
}
