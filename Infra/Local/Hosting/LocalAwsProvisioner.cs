using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.S3;
using ImageAspire.LocalAws.Templates;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>
/// What provisioning produced, resolved against the local backend: the template's outputs, and the environment variables
/// of its Lambda functions (by function logical id) that could be resolved locally.
/// </summary>
public sealed record ProvisionedEnvironment(
    IReadOnlyDictionary<string, string> Outputs,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> FunctionVariables)
{
    /// <summary>An output by name, e.g. <c>UserPoolId</c>.</summary>
    public string this[string name] =>
        Outputs.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"The template has no output {name}.");
}

/// <summary>
/// Applies a CloudFormation template's buckets, tables, user pools, clients and groups to a local backend (the
/// emulators or LocalStack), one applier per service, in dependency order. Idempotent: what exists already is reused,
/// so a kept data folder works, and takes what a changed template changes where a stack update would (a table's new
/// indexes, a bucket's CORS rule, a user pool's, client's or group's settings but those fixed at creation). What an
/// emulator lacks (encryption, lifecycle, point-in-time recovery, ...) is logged and skipped.
/// </summary>
public sealed class LocalAwsProvisioner(IAmazonS3 s3, IAmazonDynamoDB dynamoDb, CognitoClient cognito, ILogger logger)
{
    /// <summary>Provisions everything the template defines that a local backend can hold, then creates the users.</summary>
    /// <param name="template">The template.</param>
    /// <param name="context">Parameters and pseudo parameters (region, account) to resolve it with.</param>
    /// <param name="siteOrigins">The local site's origins: they replace the template's CORS origins, which name the CloudFront domain.</param>
    /// <param name="users">Users to create (idempotent).</param>
    /// <param name="cancellationToken">Cancels provisioning.</param>
    public async Task<ProvisionedEnvironment> ProvisionAsync(
        CloudFormationTemplate template, TemplateContext context, IReadOnlyList<string> siteOrigins, IReadOnlyList<SeedUser> users,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(context);
        foreach (var gap in TemplateCoverage.Gaps(template))
        {
            logger.LogWarning("{Gap}", gap);
        }

        foreach (var note in TemplateCoverage.NotApplied(template))
        {
            logger.LogInformation("{Note}", note);
        }

        var buckets = new S3BucketApplier(s3, siteOrigins, logger);
        var tables = new DynamoDbTableApplier(dynamoDb, logger);
        var userPools = new CognitoApplier(cognito, logger);

        foreach (var bucket in template.ResourcesOfType("AWS::S3::Bucket"))
        {
            await buckets.ApplyAsync(bucket, context, cancellationToken);
        }

        foreach (var table in template.ResourcesOfType("AWS::DynamoDB::Table"))
        {
            await tables.ApplyAsync(table, context, cancellationToken);
        }

        foreach (var pool in template.ResourcesOfType("AWS::Cognito::UserPool"))
        {
            await userPools.ApplyUserPoolAsync(pool, context, cancellationToken);
        }

        foreach (var client in template.ResourcesOfType("AWS::Cognito::UserPoolClient"))
        {
            await userPools.ApplyUserPoolClientAsync(client, context, cancellationToken);
        }

        foreach (var group in template.ResourcesOfType("AWS::Cognito::UserPoolGroup"))
        {
            await userPools.ApplyGroupAsync(group, context, cancellationToken);
        }

        var pools = template.ResourcesOfType("AWS::Cognito::UserPool").ToList();
        if (users.Count > 0 && pools.Count != 1)
        {
            throw new TemplateException($"Seed users need exactly one user pool in the template; it has {pools.Count}.");
        }

        foreach (var user in users)
        {
            await userPools.SeedUserAsync(pools[0].LogicalId, user, context, cancellationToken);
        }

        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, output) in template.Root["Outputs"] as JsonObject ?? [])
        {
            try
            {
                outputs[name] = TemplateFunctions.Resolve(output?["Value"], context)?.ToString() ?? string.Empty;
            }
            catch (TemplateException)
            {
                // Outputs of resources a local backend does not have (the distribution, the API) stay unset.
            }
        }

        var functions = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var function in template.ResourcesOfType("AWS::Lambda::Function"))
        {
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in function.FunctionVariables)
            {
                try
                {
                    variables[name] = TemplateFunctions.Resolve(value, context)?.ToString() ?? string.Empty;
                }
                catch (TemplateException ex)
                {
                    // Names something a local backend does not create (a CloudFront key, say); a service given it fails.
                    logger.LogInformation("{Function}'s variable {Variable} has no local value: {Reason}", function.LogicalId, name, ex.Message);
                }
            }

            functions[function.LogicalId] = variables;
        }

        return new ProvisionedEnvironment(outputs, functions);
    }
}
