using System.Text.Json.Nodes;
using ImageAspire.LocalAws.Templates;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>Applies the template's Cognito user pools, app clients and groups, and creates seed users.</summary>
internal sealed class CognitoApplier(CognitoClient cognito, ILogger logger)
{
    // What the coverage says the local run reads is passed to cognito-local as it is (Cognito's API names these settings
    // as the template does), but for the names and references mapped below: one list, so a property cannot be reported
    // as emulated and then not be passed on.
    private static readonly string[] PoolProperties = [.. TemplateCoverage.PropertiesRead("AWS::Cognito::UserPool").Except(["UserPoolName"])];
    private static readonly string[] ClientProperties = [.. TemplateCoverage.PropertiesRead("AWS::Cognito::UserPoolClient").Except(["UserPoolId", "ClientName"])];

    // Settings fixed at creation. CloudFormation replaces the pool or client when they change; locally that would drop the
    // users of a kept data folder, so they stay as created and the rest is updated, as a stack update does.
    private static readonly string[] PoolCreateOnly = ["UsernameAttributes", "Schema"];
    private static readonly string[] ClientCreateOnly = ["GenerateSecret"];

    public async Task ApplyUserPoolAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)TemplateFunctions.Resolve(resource.Properties, context)!;
        var name = (string?)properties["UserPoolName"] ?? resource.LogicalId;
        var pools = await cognito.SendAsync("ListUserPools", new JsonObject { ["MaxResults"] = 60 }, cancellationToken);
        var existing = (pools["UserPools"] as JsonArray ?? []).FirstOrDefault(p => (string?)p?["Name"] == name);
        string id;
        if (existing is not null)
        {
            id = (string)existing["Id"]!;
            await cognito.SendAsync("UpdateUserPool",
                Copy(new JsonObject { ["UserPoolId"] = id }, properties, [.. PoolProperties.Except(PoolCreateOnly)]), cancellationToken);
            logger.LogInformation("User pool {Pool} exists ({Id}): its settings updated from the template, {CreateOnly} as created",
                name, id, string.Join(" and ", PoolCreateOnly));
        }
        else
        {
            var created = await cognito.SendAsync("CreateUserPool", Copy(new JsonObject { ["PoolName"] = name }, properties, PoolProperties), cancellationToken);
            id = (string)created["UserPool"]!["Id"]!;
            logger.LogInformation("Created user pool {Pool} ({Id})", name, id);
        }

        context.SetPhysicalId(resource.LogicalId, id);
        context.SetAttribute(resource.LogicalId, "Arn", $"arn:aws:cognito-idp:{context.Region}:{context.AccountId}:userpool/{id}");
        context.SetAttribute(resource.LogicalId, "ProviderName", $"cognito-idp.{context.Region}.amazonaws.com/{id}");
    }

    public async Task ApplyUserPoolClientAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)TemplateFunctions.Resolve(resource.Properties, context)!;
        var poolId = (string)properties["UserPoolId"]!;
        var name = (string?)properties["ClientName"] ?? resource.LogicalId;
        var clients = await cognito.SendAsync("ListUserPoolClients", new JsonObject { ["UserPoolId"] = poolId, ["MaxResults"] = 60 }, cancellationToken);
        var existing = (clients["UserPoolClients"] as JsonArray ?? []).FirstOrDefault(c => (string?)c?["ClientName"] == name);
        string id;
        if (existing is not null)
        {
            id = (string)existing["ClientId"]!;
            await cognito.SendAsync("UpdateUserPoolClient",
                Copy(new JsonObject { ["UserPoolId"] = poolId, ["ClientId"] = id, ["ClientName"] = name }, properties, [.. ClientProperties.Except(ClientCreateOnly)]),
                cancellationToken);
            logger.LogInformation("User pool client {Client} exists ({Id}): its settings updated from the template, {CreateOnly} as created",
                name, id, string.Join(" and ", ClientCreateOnly));
        }
        else
        {
            var request = Copy(new JsonObject { ["UserPoolId"] = poolId, ["ClientName"] = name }, properties, ClientProperties);
            var created = await cognito.SendAsync("CreateUserPoolClient", request, cancellationToken);
            id = (string)created["UserPoolClient"]!["ClientId"]!;
            logger.LogInformation("Created user pool client {Client} ({Id})", name, id);
        }

        context.SetPhysicalId(resource.LogicalId, id);
    }

    public async Task ApplyGroupAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        var properties = (JsonObject)TemplateFunctions.Resolve(resource.Properties, context)!;
        var name = (string)properties["GroupName"]!;
        var group = new JsonObject
        {
            ["UserPoolId"] = (string)properties["UserPoolId"]!,
            ["GroupName"] = name,
            ["Description"] = (string?)properties["Description"],
        };
        try
        {
            await cognito.SendAsync("CreateGroup", group, cancellationToken);
            logger.LogInformation("Created group {Group}", name);
        }
        catch (CognitoException ex) when (ex.Type == "GroupExistsException")
        {
            // Cognito refuses to create a group twice (cognito-local replaces it instead).
            await cognito.SendAsync("UpdateGroup", group, cancellationToken);
            logger.LogInformation("Group {Group} exists: its description updated from the template", name);
        }

        context.SetPhysicalId(resource.LogicalId, name);
    }

    /// <summary>Creates a confirmed user with a permanent password in the pool, and adds it to its groups, unless done before.</summary>
    public async Task SeedUserAsync(string poolLogicalId, SeedUser user, TemplateContext context, CancellationToken cancellationToken)
    {
        var userPoolId = context.Ref(poolLogicalId);
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

        foreach (var group in user.Groups)
        {
            await cognito.SendAsync("AdminAddUserToGroup", new JsonObject
            {
                ["UserPoolId"] = userPoolId,
                ["Username"] = user.Email,
                ["GroupName"] = context.Ref(group),
            }, cancellationToken);
        }

        logger.LogInformation("Seeded user {User} (groups: {Groups})", user.Email, string.Join(", ", user.Groups));
    }

    private static JsonObject Copy(JsonObject request, JsonObject properties, string[] names)
    {
        foreach (var name in names)
        {
            if (properties[name] is { } value)
            {
                request[name] = value.DeepClone();
            }
        }

        return request;
    }
}
