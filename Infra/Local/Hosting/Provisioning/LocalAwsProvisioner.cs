using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ImageAspire.Infra.Templates;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Infra.Provisioning;

/// <summary>A user created at provisioning time (the demo and admin users of the README).</summary>
public sealed record SeedUser(string Email, string Password, bool IsAdmin);

/// <summary>What provisioning produced: the template's outputs, resolved against the local backend.</summary>
public sealed record ProvisionedEnvironment(IReadOnlyDictionary<string, string> Outputs)
{
    /// <summary>An output by name, e.g. <c>UserPoolId</c>.</summary>
    public string this[string name] =>
        Outputs.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"The template has no output {name}.");
}

/// <summary>
/// Applies a CloudFormation template's buckets, tables, user pool, client and groups to a local backend
/// (the emulators or LocalStack). Idempotent: what exists already is reused, so a kept data folder works.
/// What an emulator lacks (encryption, lifecycle, point-in-time recovery, ...) is logged and skipped.
/// </summary>
public sealed class LocalAwsProvisioner(IAmazonS3 s3, IAmazonDynamoDB dynamoDb, CognitoClient cognito, ILogger logger)
{
    private IReadOnlyList<string> _siteOrigins = [];

    /// <summary>The key of the default settings item.</summary>
    public const string SettingsPartitionKey = "SETTINGS";

    /// <summary>The sort key of the default settings item.</summary>
    public const string SettingsSortKey = "DEFAULT";

    /// <summary>Provisions everything the template defines that a local backend can hold.</summary>
    /// <param name="template">The template.</param>
    /// <param name="parameters">Parameter values (defaults otherwise).</param>
    /// <param name="siteOrigins">
    /// The local site's origins: they replace the CORS origins of the template, which name the CloudFront domain.
    /// </param>
    /// <param name="cancellationToken">Cancels provisioning.</param>
    public async Task<ProvisionedEnvironment> ProvisionAsync(
        CloudFormationTemplate template, IReadOnlyDictionary<string, string> parameters, IReadOnlyList<string> siteOrigins, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        var context = new TemplateContext(template, parameters);
        _siteOrigins = siteOrigins;

        foreach (var bucket in template.ResourcesOfType("AWS::S3::Bucket"))
        {
            await ApplyBucketAsync(bucket, context, cancellationToken);
        }

        foreach (var table in template.ResourcesOfType("AWS::DynamoDB::Table"))
        {
            await ApplyTableAsync(table, context, cancellationToken);
        }

        foreach (var pool in template.ResourcesOfType("AWS::Cognito::UserPool"))
        {
            await ApplyUserPoolAsync(pool, context, cancellationToken);
        }

        foreach (var client in template.ResourcesOfType("AWS::Cognito::UserPoolClient"))
        {
            await ApplyUserPoolClientAsync(client, context, cancellationToken);
        }

        foreach (var group in template.ResourcesOfType("AWS::Cognito::UserPoolGroup"))
        {
            await ApplyGroupAsync(group, context, cancellationToken);
        }

        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, output) in template.Root["Outputs"] as JsonObject ?? [])
        {
            try
            {
                outputs[name] = CloudFormationTemplate.Resolve(output?["Value"], context)?.ToString() ?? string.Empty;
            }
            catch (TemplateException)
            {
                // Outputs of resources a local backend does not have (the distribution, the API) stay unset.
            }
        }

        return new ProvisionedEnvironment(outputs);
    }

    /// <summary>Writes the default settings item unless it exists (a kept data folder keeps its edits).</summary>
    public async Task SeedSettingsAsync(string tableName, string settingsJson, CancellationToken cancellationToken = default)
    {
        try
        {
            await dynamoDb.PutItemAsync(new PutItemRequest
            {
                TableName = tableName,
                Item = new Dictionary<string, AttributeValue>
                {
                    ["PK"] = new() { S = SettingsPartitionKey },
                    ["SK"] = new() { S = SettingsSortKey },
                    ["Document"] = new() { S = settingsJson },
                    ["UpdatedAt"] = new() { S = DateTimeOffset.UtcNow.ToString("O") },
                },
                ConditionExpression = "attribute_not_exists(PK)",
            }, cancellationToken);
            logger.LogInformation("Seeded the default settings into {Table}", tableName);
        }
        catch (ConditionalCheckFailedException)
        {
            logger.LogInformation("Settings already present in {Table}", tableName);
        }
    }

    /// <summary>Creates a confirmed user with a permanent password (and admin group membership) unless it exists.</summary>
    public async Task SeedUserAsync(string userPoolId, SeedUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            await cognito.SendAsync("AdminCreateUser", new JsonObject
            {
                ["UserPoolId"] = userPoolId,
                ["Username"] = user.Email,
                ["MessageAction"] = "SUPPRESS",
                ["UserAttributes"] = new JsonArray(
                    new JsonObject { ["Name"] = "email", ["Value"] = user.Email },
                    new JsonObject { ["Name"] = "email_verified", ["Value"] = "true" }),
            }, cancellationToken);
        }
        catch (CognitoException ex) when (ex.Type == "UsernameExistsException")
        {
            logger.LogInformation("User {User} exists", user.Email);
        }

        await cognito.SendAsync("AdminSetUserPassword", new JsonObject
        {
            ["UserPoolId"] = userPoolId,
            ["Username"] = user.Email,
            ["Password"] = user.Password,
            ["Permanent"] = true,
        }, cancellationToken);

        if (user.IsAdmin)
        {
            await cognito.SendAsync("AdminAddUserToGroup", new JsonObject
            {
                ["UserPoolId"] = userPoolId,
                ["Username"] = user.Email,
                ["GroupName"] = "admins",
            }, cancellationToken);
        }

        logger.LogInformation("Seeded user {User}{Admin}", user.Email, user.IsAdmin ? " (admins)" : string.Empty);
    }

    private async Task ApplyBucketAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        // Only what a local S3 can hold is resolved: the rest (notifications to the function, ...) names
        // resources that exist only in AWS.
        var properties = ResolveEach(resource.Properties, context, "BucketName", "VersioningConfiguration",
            "BucketEncryption", "PublicAccessBlockConfiguration", "LifecycleConfiguration", "OwnershipControls");
        var name = (string?)properties["BucketName"] ?? resource.LogicalId.ToLowerInvariant();
        try
        {
            await s3.PutBucketAsync(new PutBucketRequest { BucketName = name }, cancellationToken);
            logger.LogInformation("Created bucket {Bucket} ({LogicalId})", name, resource.LogicalId);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
            logger.LogInformation("Bucket {Bucket} exists", name);
        }

        context.SetPhysicalId(resource.LogicalId, name);
        context.SetAttribute(resource.LogicalId, "Arn", $"arn:aws:s3:::{name}");

        if (resource.Properties["CorsConfiguration"]?["CorsRules"] is JsonArray rules)
        {
            logger.LogInformation("CORS on {Bucket}: allowed origins {Origins} (the template names the CloudFront domain)", name, string.Join(", ", _siteOrigins));
            await s3.PutCORSConfigurationAsync(new PutCORSConfigurationRequest
            {
                BucketName = name,
                Configuration = new CORSConfiguration
                {
                    Rules = rules.Select(rule => new CORSRule
                    {
                        AllowedMethods = Strings(CloudFormationTemplate.Resolve(rule?["AllowedMethods"], context)),
                        AllowedOrigins = [.. _siteOrigins],
                        AllowedHeaders = Strings(CloudFormationTemplate.Resolve(rule?["AllowedHeaders"], context)),
                        ExposeHeaders = Strings(CloudFormationTemplate.Resolve(rule?["ExposedHeaders"], context)),
                        MaxAgeSeconds = (int?)(long?)rule?["MaxAge"],
                    }).ToList(),
                },
            }, cancellationToken);
        }

        if ((string?)properties["VersioningConfiguration"]?["Status"] == "Enabled")
        {
            await TryAsync($"versioning on {name}", () => s3.PutBucketVersioningAsync(new PutBucketVersioningRequest
            {
                BucketName = name,
                VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
            }, cancellationToken));
        }

        foreach (var unsupported in new[] { "BucketEncryption", "PublicAccessBlockConfiguration", "LifecycleConfiguration", "OwnershipControls", "NotificationConfiguration" })
        {
            if (resource.Properties[unsupported] is not null)
            {
                logger.LogInformation("Skipped {Property} on {Bucket}: the local S3 does not implement it (object events reach the service through the launcher's webhook)", unsupported, name);
            }
        }
    }

    private async Task ApplyTableAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)CloudFormationTemplate.Resolve(resource.Properties, context)!;
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
        }

        await WaitForActiveAsync(name, cancellationToken);
        context.SetPhysicalId(resource.LogicalId, name);
        context.SetAttribute(resource.LogicalId, "Arn", $"arn:aws:dynamodb:us-east-1:000000000000:table/{name}");

        foreach (var unsupported in new[] { "PointInTimeRecoverySpecification", "SSESpecification", "TimeToLiveSpecification", "StreamSpecification", "DeletionProtectionEnabled" })
        {
            if (properties[unsupported] is not null)
            {
                logger.LogInformation("Skipped {Property} on {Table}: the local DynamoDB does not implement it", unsupported, name);
            }
        }
    }

    private async Task WaitForActiveAsync(string table, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var description = await dynamoDb.DescribeTableAsync(table, cancellationToken);
            if (description.Table.TableStatus == TableStatus.ACTIVE)
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TemplateException($"Table {table} did not become ACTIVE.");
    }

    private async Task ApplyUserPoolAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)CloudFormationTemplate.Resolve(resource.Properties, context)!;
        var name = (string?)properties["UserPoolName"] ?? resource.LogicalId;
        var pools = await cognito.SendAsync("ListUserPools", new JsonObject { ["MaxResults"] = 60 }, cancellationToken);
        var existing = (pools["UserPools"] as JsonArray ?? []).FirstOrDefault(p => (string?)p?["Name"] == name);
        string id;
        if (existing is not null)
        {
            id = (string)existing["Id"]!;
            logger.LogInformation("User pool {Pool} exists ({Id})", name, id);
        }
        else
        {
            var request = new JsonObject { ["PoolName"] = name };
            foreach (var property in new[] { "Policies", "UsernameAttributes", "AutoVerifiedAttributes", "AccountRecoverySetting", "Schema", "MfaConfiguration" })
            {
                if (properties[property] is { } value)
                {
                    request[property] = value.DeepClone();
                }
            }

            var created = await cognito.SendAsync("CreateUserPool", request, cancellationToken);
            id = (string)created["UserPool"]!["Id"]!;
            logger.LogInformation("Created user pool {Pool} ({Id})", name, id);
        }

        context.SetPhysicalId(resource.LogicalId, id);
        context.SetAttribute(resource.LogicalId, "Arn", $"arn:aws:cognito-idp:us-east-1:000000000000:userpool/{id}");
        context.SetAttribute(resource.LogicalId, "ProviderName", $"cognito-idp.us-east-1.amazonaws.com/{id}");
    }

    private async Task ApplyUserPoolClientAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)CloudFormationTemplate.Resolve(resource.Properties, context)!;
        var poolId = (string)properties["UserPoolId"]!;
        var name = (string?)properties["ClientName"] ?? resource.LogicalId;
        var clients = await cognito.SendAsync("ListUserPoolClients", new JsonObject { ["UserPoolId"] = poolId, ["MaxResults"] = 60 }, cancellationToken);
        var existing = (clients["UserPoolClients"] as JsonArray ?? []).FirstOrDefault(c => (string?)c?["ClientName"] == name);
        string id;
        if (existing is not null)
        {
            id = (string)existing["ClientId"]!;
        }
        else
        {
            var request = new JsonObject { ["UserPoolId"] = poolId, ["ClientName"] = name };
            foreach (var property in new[] { "GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity", "TokenValidityUnits" })
            {
                if (properties[property] is { } value)
                {
                    request[property] = value.DeepClone();
                }
            }

            var created = await cognito.SendAsync("CreateUserPoolClient", request, cancellationToken);
            id = (string)created["UserPoolClient"]!["ClientId"]!;
            logger.LogInformation("Created user pool client {Client} ({Id})", name, id);
        }

        context.SetPhysicalId(resource.LogicalId, id);
    }

    private async Task ApplyGroupAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)CloudFormationTemplate.Resolve(resource.Properties, context)!;
        var name = (string)properties["GroupName"]!;
        try
        {
            await cognito.SendAsync("CreateGroup", new JsonObject
            {
                ["UserPoolId"] = (string)properties["UserPoolId"]!,
                ["GroupName"] = name,
                ["Description"] = (string?)properties["Description"],
            }, cancellationToken);
            logger.LogInformation("Created group {Group}", name);
        }
        catch (CognitoException ex) when (ex.Type == "GroupExistsException")
        {
            logger.LogInformation("Group {Group} exists", name);
        }

        context.SetPhysicalId(resource.LogicalId, name);
    }

    private async Task TryAsync(string what, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (AmazonServiceException ex)
        {
            logger.LogInformation("Skipped {What}: the local S3 answered {Code}", what, ex.ErrorCode ?? ex.StatusCode.ToString());
        }
    }

    private static JsonObject ResolveEach(JsonObject properties, TemplateContext context, params string[] names)
    {
        var resolved = new JsonObject();
        foreach (var name in names)
        {
            if (properties[name] is { } value)
            {
                resolved[name] = CloudFormationTemplate.Resolve(value, context);
            }
        }

        return resolved;
    }

    private static List<string> Strings(JsonNode? node) =>
        (node as JsonArray ?? []).Select(item => item?.ToString() ?? string.Empty).ToList();

    private static List<KeySchemaElement> KeySchema(JsonNode? node) =>
        (node as JsonArray ?? []).Select(k => new KeySchemaElement((string)k!["AttributeName"]!, new KeyType((string)k["KeyType"]!))).ToList();

    private static Projection Projection(JsonNode? node) => new()
    {
        ProjectionType = new ProjectionType((string?)node?["ProjectionType"] ?? "ALL"),
        NonKeyAttributes = node?["NonKeyAttributes"] is JsonArray attributes ? Strings(attributes) : null,
    };

    private static ProvisionedThroughput Throughput(JsonNode? node) => new()
    {
        ReadCapacityUnits = (long?)node?["ReadCapacityUnits"] ?? 5,
        WriteCapacityUnits = (long?)node?["WriteCapacityUnits"] ?? 5,
    };
}
