using System.Text.Json.Nodes;

namespace ImageAspire.LocalAws.Templates;

/// <summary>How the local stand-ins treat a resource type.</summary>
public enum LocalTreatment
{
    /// <summary>Created in the local backend from the template (the provisioner's appliers).</summary>
    Provisioned,

    /// <summary>A local service stands for it (the local Lambda and its HTTP API, the S3 event delivery, the edge).</summary>
    StoodFor,

    /// <summary>Has no local meaning: permissions, logs, alarms, notifications (nothing local enforces or sends them).</summary>
    NotNeeded,

    /// <summary>Nothing stands for it locally: code that calls it fails.</summary>
    NotEmulated,
}

/// <summary>Which resource types of a template the local AWS stand-ins cover, and how: so a gap is named, not silent.</summary>
public static class TemplateCoverage
{
    private static readonly Dictionary<string, LocalTreatment> Known = new(StringComparer.Ordinal)
    {
        ["AWS::S3::Bucket"] = LocalTreatment.Provisioned,
        ["AWS::DynamoDB::Table"] = LocalTreatment.Provisioned,
        ["AWS::Cognito::UserPool"] = LocalTreatment.Provisioned,
        ["AWS::Cognito::UserPoolClient"] = LocalTreatment.Provisioned,
        ["AWS::Cognito::UserPoolGroup"] = LocalTreatment.Provisioned,
        ["AWS::Lambda::Function"] = LocalTreatment.StoodFor,
        ["AWS::Lambda::Permission"] = LocalTreatment.StoodFor,
        ["AWS::Lambda::EventInvokeConfig"] = LocalTreatment.StoodFor,
        ["AWS::ApiGatewayV2::Api"] = LocalTreatment.StoodFor,
        ["AWS::ApiGatewayV2::Authorizer"] = LocalTreatment.StoodFor,
        ["AWS::ApiGatewayV2::Integration"] = LocalTreatment.StoodFor,
        ["AWS::ApiGatewayV2::Route"] = LocalTreatment.StoodFor,
        ["AWS::ApiGatewayV2::Stage"] = LocalTreatment.StoodFor,
        ["AWS::CloudFront::Distribution"] = LocalTreatment.StoodFor,
        ["AWS::CloudFront::Function"] = LocalTreatment.StoodFor,
        ["AWS::CloudFront::KeyGroup"] = LocalTreatment.StoodFor,
        ["AWS::CloudFront::PublicKey"] = LocalTreatment.StoodFor,
        ["AWS::CloudFront::OriginAccessControl"] = LocalTreatment.StoodFor,
        ["AWS::CloudFront::ResponseHeadersPolicy"] = LocalTreatment.StoodFor,
        ["AWS::Events::Rule"] = LocalTreatment.NotNeeded,
        ["AWS::IAM::Role"] = LocalTreatment.NotNeeded,
        ["AWS::IAM::Policy"] = LocalTreatment.NotNeeded,
        ["AWS::IAM::ManagedPolicy"] = LocalTreatment.NotNeeded,
        ["AWS::S3::BucketPolicy"] = LocalTreatment.NotNeeded,
        ["AWS::Logs::LogGroup"] = LocalTreatment.NotNeeded,
        ["AWS::CloudWatch::Alarm"] = LocalTreatment.NotNeeded,
        ["AWS::CloudWatch::Dashboard"] = LocalTreatment.NotNeeded,
        ["AWS::SNS::Topic"] = LocalTreatment.NotNeeded,
        ["AWS::SNS::TopicPolicy"] = LocalTreatment.NotNeeded,
        ["AWS::SNS::Subscription"] = LocalTreatment.NotNeeded,
    };

    /// <summary>What the local backend does for a resource of <paramref name="type"/> (<c>AWS::S3::Bucket</c>, say).</summary>
    public static LocalTreatment TreatmentOf(string type) =>
        Known.TryGetValue(type ?? throw new ArgumentNullException(nameof(type)), out var treatment) ? treatment : LocalTreatment.NotEmulated;

    // Of the types whose properties change what the local run does: those it reads, and those it knowingly does without
    // (encryption, access blocks, retention, throttling, logs, tracing, what the deployed code is: nothing local depends on
    // them). Any other property of these types is a gap; the properties of other types are not checked.
    private static readonly Dictionary<string, (string[] Read, string[] NotApplied)> PropertiesOf = new(StringComparer.Ordinal)
    {
        ["AWS::S3::Bucket"] = (
            ["BucketName", "CorsConfiguration", "VersioningConfiguration", "NotificationConfiguration"],
            ["BucketEncryption", "PublicAccessBlockConfiguration", "LifecycleConfiguration", "OwnershipControls", "MetricsConfigurations", "Tags"]),
        ["AWS::DynamoDB::Table"] = (
            ["TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"],
            ["PointInTimeRecoverySpecification", "SSESpecification", "TimeToLiveSpecification", "DeletionProtectionEnabled", "Tags"]),
        ["AWS::Cognito::UserPool"] = (
            ["UserPoolName", "Policies", "UsernameAttributes", "AutoVerifiedAttributes", "AccountRecoverySetting", "Schema", "MfaConfiguration"],
            ["UserPoolTags", "DeletionProtection"]),
        ["AWS::Cognito::UserPoolClient"] = (
            ["UserPoolId", "ClientName", "GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "AccessTokenValidity", "IdTokenValidity",
                "RefreshTokenValidity", "TokenValidityUnits"],
            []),
        ["AWS::Cognito::UserPoolGroup"] = (["UserPoolId", "GroupName", "Description"], ["Precedence"]),
        ["AWS::Lambda::Function"] = (
            ["FunctionName", "Timeout", "MemorySize", "Environment", "LoggingConfig"],
            ["Code", "Handler", "Runtime", "Architectures", "Role", "Description", "TracingConfig", "ReservedConcurrentExecutions", "Tags"]),
        ["AWS::Lambda::EventInvokeConfig"] = (["FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"], []),
        ["AWS::ApiGatewayV2::Api"] = (["Name", "ProtocolType"], ["Description", "DisableExecuteApiEndpoint", "Tags"]),
        ["AWS::ApiGatewayV2::Authorizer"] = (["ApiId", "Name", "AuthorizerType", "IdentitySource", "JwtConfiguration"], []),
        ["AWS::ApiGatewayV2::Integration"] = (["ApiId", "IntegrationType", "IntegrationUri", "PayloadFormatVersion"], ["Description", "TimeoutInMillis"]),
        ["AWS::ApiGatewayV2::Route"] = (["ApiId", "RouteKey", "Target", "AuthorizationType", "AuthorizerId"], ["OperationName"]),
        ["AWS::ApiGatewayV2::Stage"] = (["ApiId", "StageName"], ["Description", "AutoDeploy", "AccessLogSettings", "DefaultRouteSettings", "Tags"]),
    };

    /// <summary>
    /// The properties of a resource of <paramref name="type"/> that the local run reads; empty for a type whose
    /// properties are not checked.
    /// </summary>
    public static IReadOnlyList<string> PropertiesRead(string type) =>
        PropertiesOf.TryGetValue(type ?? throw new ArgumentNullException(nameof(type)), out var known) ? known.Read : [];

    /// <summary>
    /// One message per resource nothing stands for locally, and per property of a covered resource that the local run
    /// does not emulate (a Lambda function's <c>Layers</c>, a table's <c>StreamSpecification</c>), each naming the
    /// resource and its type.
    /// </summary>
    public static IReadOnlyList<string> Gaps(CloudFormationTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return [.. template.Resources
            .Where(r => TreatmentOf(r.Type) == LocalTreatment.NotEmulated)
            .Select(r => $"Resource {r.LogicalId} ({r.Type}) is not emulated locally: nothing is created for it, and code that calls it will fail."),
            .. Properties(template, known => known.Read.Concat(known.NotApplied), included: false)
            .Select(p => $"Property {p.Property} of {p.Resource.LogicalId} ({p.Resource.Type}) is not emulated locally: it is ignored, and code that depends on it will behave otherwise."),
            .. AuthorizationGaps(template)];
    }

    // The local HTTP API checks the user pool's JWTs on its route, whatever the template says.
    private static IEnumerable<string> AuthorizationGaps(CloudFormationTemplate template) =>
        template.ResourcesOfType("AWS::ApiGatewayV2::Authorizer")
            .Where(a => a.Properties["AuthorizerType"] is JsonValue type && (string?)type != "JWT")
            .Select(a => $"Resource {a.LogicalId} (AWS::ApiGatewayV2::Authorizer) is a {a.Properties["AuthorizerType"]} authorizer: the local HTTP API checks the user pool's JWTs instead.")
            .Concat(template.ResourcesOfType("AWS::ApiGatewayV2::Route")
                .Where(r => r.Properties["AuthorizationType"] switch { null => true, JsonValue type => (string?)type != "JWT", _ => false })
                .Select(r => $"Resource {r.LogicalId} (AWS::ApiGatewayV2::Route) has no JWT authorizer: the local HTTP API still asks for the user pool's JWT on it."));

    /// <summary>One message per property of a covered resource that the local run knowingly does without (encryption, say).</summary>
    public static IReadOnlyList<string> NotApplied(CloudFormationTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return [.. Properties(template, known => known.NotApplied, included: true)
            .Select(p => $"Property {p.Property} of {p.Resource.LogicalId} ({p.Resource.Type}) is not applied locally (nothing local depends on it).")];
    }

    private static IEnumerable<(TemplateResource Resource, string Property)> Properties(
        CloudFormationTemplate template, Func<(string[] Read, string[] NotApplied), IEnumerable<string>> listed, bool included) =>
        from resource in template.Resources
        where PropertiesOf.ContainsKey(resource.Type)
        let names = listed(PropertiesOf[resource.Type]).ToHashSet(StringComparer.Ordinal)
        from property in resource.Properties.Select(p => p.Key)
        where names.Contains(property) == included
        select (resource, property);
}
