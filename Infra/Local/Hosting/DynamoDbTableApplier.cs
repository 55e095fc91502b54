using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using ImageAspire.LocalAws.Templates;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>Applies <c>AWS::DynamoDB::Table</c> resources: keys, billing mode and indexes, then waits until the table is active.</summary>
internal sealed class DynamoDbTableApplier(IAmazonDynamoDB dynamoDb, ILogger logger)
{
    public async Task ApplyAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)TemplateFunctions.Resolve(resource.Properties, context)!;
        var name = (string?)properties["TableName"] ?? resource.LogicalId;
        var onDemand = (string?)properties["BillingMode"] == "PAY_PER_REQUEST";
        var request = new CreateTableRequest
        {
            TableName = name,
            AttributeDefinitions = (properties["AttributeDefinitions"] as JsonArray ?? [])
                .Select(a => new AttributeDefinition((string)a!["AttributeName"]!, new ScalarAttributeType((string)a["AttributeType"]!)))
                .ToList(),
            KeySchema = KeySchema(properties["KeySchema"]),
            BillingMode = onDemand ? BillingMode.PAY_PER_REQUEST : BillingMode.PROVISIONED,
            ProvisionedThroughput = onDemand ? null : Throughput(properties["ProvisionedThroughput"]),
        };
        if (properties["GlobalSecondaryIndexes"] is JsonArray globalIndexes)
        {
            request.GlobalSecondaryIndexes = globalIndexes.Select(index => new GlobalSecondaryIndex
            {
                IndexName = (string?)index?["IndexName"],
                KeySchema = KeySchema(index?["KeySchema"]),
                Projection = Projection(index?["Projection"]),
                ProvisionedThroughput = onDemand ? null : Throughput(index?["ProvisionedThroughput"]),
            }).ToList();
        }

        if (properties["LocalSecondaryIndexes"] is JsonArray localIndexes)
        {
            request.LocalSecondaryIndexes = localIndexes.Select(index => new LocalSecondaryIndex
            {
                IndexName = (string?)index?["IndexName"],
                KeySchema = KeySchema(index?["KeySchema"]),
                Projection = Projection(index?["Projection"]),
            }).ToList();
        }

        try
        {
            await dynamoDb.CreateTableAsync(request, cancellationToken);
            logger.LogInformation("Created table {Table} ({LogicalId})", name, resource.LogicalId);
        }
        catch (ResourceInUseException)
        {
            logger.LogInformation("Table {Table} exists", name);
            await AddMissingIndexesAsync(request, cancellationToken);
        }

        await WaitForActiveAsync(name, cancellationToken);
        context.SetPhysicalId(resource.LogicalId, name);
        context.SetAttribute(resource.LogicalId, "Arn", $"arn:aws:dynamodb:{context.Region}:{context.AccountId}:table/{name}");
    }

    /// <summary>
    /// A table kept from an earlier run (the data folder persists) gets the global indexes the template has added since,
    /// one per update, as CloudFormation would add them.
    /// </summary>
    private async Task AddMissingIndexesAsync(CreateTableRequest wanted, CancellationToken cancellationToken)
    {
        foreach (var index in wanted.GlobalSecondaryIndexes ?? [])
        {
            var existing = (await dynamoDb.DescribeTableAsync(wanted.TableName, cancellationToken)).Table.GlobalSecondaryIndexes ?? [];
            if (existing.Any(e => e.IndexName == index.IndexName))
            {
                continue;
            }

            await WaitForActiveAsync(wanted.TableName, cancellationToken);
            await dynamoDb.UpdateTableAsync(new UpdateTableRequest
            {
                TableName = wanted.TableName,
                AttributeDefinitions = wanted.AttributeDefinitions,
                GlobalSecondaryIndexUpdates =
                [
                    new GlobalSecondaryIndexUpdate
                    {
                        Create = new CreateGlobalSecondaryIndexAction
                        {
                            IndexName = index.IndexName,
                            KeySchema = index.KeySchema,
                            Projection = index.Projection,
                            ProvisionedThroughput = index.ProvisionedThroughput,
                        },
                    },
                ],
            }, cancellationToken);
            logger.LogInformation("Added index {Index} to table {Table}", index.IndexName, wanted.TableName);
        }
    }

    private async Task WaitForActiveAsync(string table, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var description = await dynamoDb.DescribeTableAsync(table, cancellationToken);
            if (description.Table.TableStatus == TableStatus.ACTIVE
                && (description.Table.GlobalSecondaryIndexes ?? []).All(i => i.IndexStatus == IndexStatus.ACTIVE))
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TemplateException($"Table {table} did not become ACTIVE.");
    }

    private static List<KeySchemaElement> KeySchema(JsonNode? node) =>
        (node as JsonArray ?? []).Select(k => new KeySchemaElement((string)k!["AttributeName"]!, new KeyType((string)k["KeyType"]!))).ToList();

    private static Projection Projection(JsonNode? node) => new()
    {
        ProjectionType = new ProjectionType((string?)node?["ProjectionType"] ?? "ALL"),
        NonKeyAttributes = node?["NonKeyAttributes"] is JsonArray attributes ? attributes.Select(a => a?.ToString() ?? string.Empty).ToList() : null,
    };

    private static ProvisionedThroughput Throughput(JsonNode? node) => new()
    {
        ReadCapacityUnits = (long?)node?["ReadCapacityUnits"] ?? 5,
        WriteCapacityUnits = (long?)node?["WriteCapacityUnits"] ?? 5,
    };
}
