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

    /// <summary>One message per resource nothing stands for locally, naming the resource and its type.</summary>
    public static IReadOnlyList<string> Gaps(CloudFormationTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return [.. template.Resources
            .Where(r => TreatmentOf(r.Type) == LocalTreatment.NotEmulated)
            .Select(r => $"Resource {r.LogicalId} ({r.Type}) is not emulated locally: nothing is created for it, and code that calls it will fail.")];
    }
}
