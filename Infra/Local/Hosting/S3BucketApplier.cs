using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ImageAspire.LocalAws.Templates;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>Applies <c>AWS::S3::Bucket</c> resources: the bucket, its CORS rules (with the local site's origins) and versioning.</summary>
internal sealed class S3BucketApplier(IAmazonS3 s3, IReadOnlyList<string> siteOrigins, ILogger logger)
{
    public async Task ApplyAsync(TemplateResource resource, TemplateContext context, CancellationToken cancellationToken)
    {
        // Only what a local S3 can hold is resolved: the rest (notifications to the function, ...) names
        // resources that exist only in AWS.
        var name = TemplateFunctions.Resolve(resource.Properties["BucketName"], context)?.ToString() ?? resource.LogicalId.ToLowerInvariant();
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
            logger.LogInformation("CORS on {Bucket}: allowed origins {Origins} (the template names the CloudFront domain)", name, string.Join(", ", siteOrigins));
            await s3.PutCORSConfigurationAsync(new PutCORSConfigurationRequest
            {
                BucketName = name,
                Configuration = new CORSConfiguration
                {
                    Rules = rules.Select(rule => new CORSRule
                    {
                        AllowedMethods = Strings(TemplateFunctions.Resolve(rule?["AllowedMethods"], context)),
                        AllowedOrigins = [.. siteOrigins],
                        AllowedHeaders = Strings(TemplateFunctions.Resolve(rule?["AllowedHeaders"], context)),
                        ExposeHeaders = Strings(TemplateFunctions.Resolve(rule?["ExposedHeaders"], context)),
                        MaxAgeSeconds = (int?)(long?)rule?["MaxAge"],
                    }).ToList(),
                },
            }, cancellationToken);
        }

        if ((string?)TemplateFunctions.Resolve(resource.Properties["VersioningConfiguration"], context)?["Status"] == "Enabled")
        {
            try
            {
                await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest
                {
                    BucketName = name,
                    VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
                }, cancellationToken);
            }
            catch (AmazonServiceException ex)
            {
                logger.LogInformation("Skipped versioning on {Bucket}: the local S3 answered {Code}", name, ex.ErrorCode ?? ex.StatusCode.ToString());
            }
        }
    }

    private static List<string> Strings(JsonNode? node) =>
        (node as JsonArray ?? []).Select(item => item?.ToString() ?? string.Empty).ToList();
}
