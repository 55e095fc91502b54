using ImageAspire.LocalAws.Templates;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Unit;

public sealed class TemplateCoverageTests
{
    [Fact]
    public void A_resource_nothing_stands_for_locally_is_named_with_its_type()
    {
        var template = CloudFormationTemplate.Parse("""
            Resources:
              Photos:
                Type: AWS::S3::Bucket
              Jobs:
                Type: AWS::SQS::Queue
              Tasks:
                Type: AWS::StepFunctions::StateMachine
            """);

        var gaps = TemplateCoverage.Gaps(template);

        Assert.Equal(2, gaps.Count);
        Assert.Contains(gaps, g => g.Contains("Jobs (AWS::SQS::Queue)", StringComparison.Ordinal) && g.Contains("not emulated", StringComparison.Ordinal));
        Assert.Contains(gaps, g => g.Contains("Tasks (AWS::StepFunctions::StateMachine)", StringComparison.Ordinal));
        Assert.Equal(LocalTreatment.Provisioned, TemplateCoverage.TreatmentOf("AWS::S3::Bucket"));
    }

    [Fact]
    public void A_property_the_local_run_does_not_emulate_is_named_with_its_resource_and_one_it_knowingly_skips_is_noted()
    {
        var template = CloudFormationTemplate.Parse("""
            Resources:
              Notes:
                Type: AWS::DynamoDB::Table
                Properties:
                  TableName: notes
                  KeySchema: [{ AttributeName: Id, KeyType: HASH }]
                  StreamSpecification: { StreamViewType: NEW_IMAGE }
                  SSESpecification: { SSEEnabled: true }
              Api:
                Type: AWS::Lambda::Function
                Properties:
                  FunctionName: api
                  Layers: [arn:aws:lambda:us-east-1:123456789012:layer:x:1]
                  VpcConfig: { SubnetIds: [subnet-1] }
                  TracingConfig: { Mode: Active }
              Users:
                Type: AWS::Cognito::UserPool
                Properties:
                  UserPoolName: users
                  LambdaConfig: { PreSignUp: arn:aws:lambda:us-east-1:123456789012:function:x }
            """);

        var gaps = TemplateCoverage.Gaps(template);

        Assert.Equal(
            [
                "Property StreamSpecification of Notes (AWS::DynamoDB::Table)",
                "Property Layers of Api (AWS::Lambda::Function)",
                "Property VpcConfig of Api (AWS::Lambda::Function)",
                "Property LambdaConfig of Users (AWS::Cognito::UserPool)",
            ],
            gaps.Select(g => g[..g.IndexOf(" is not emulated locally", StringComparison.Ordinal)]));
        Assert.Equal(
            ["Property SSESpecification of Notes (AWS::DynamoDB::Table) is not applied locally (nothing local depends on it).",
                "Property TracingConfig of Api (AWS::Lambda::Function) is not applied locally (nothing local depends on it)."],
            TemplateCoverage.NotApplied(template));
    }

    [Fact]
    public void An_http_api_route_without_a_jwt_authorizer_is_named_as_the_local_api_checks_jwts_on_every_route()
    {
        var template = CloudFormationTemplate.Parse("""
            Resources:
              Custom:
                Type: AWS::ApiGatewayV2::Authorizer
                Properties: { ApiId: api, AuthorizerType: REQUEST, Name: custom }
              Open:
                Type: AWS::ApiGatewayV2::Route
                Properties: { ApiId: api, RouteKey: "GET /public/{proxy+}", Target: integrations/x }
              Guarded:
                Type: AWS::ApiGatewayV2::Route
                Properties: { ApiId: api, RouteKey: "ANY /api/{proxy+}", AuthorizationType: JWT, AuthorizerId: a, Target: integrations/x }
            """);

        Assert.Equal(
            ["Resource Custom (AWS::ApiGatewayV2::Authorizer) is a REQUEST authorizer: the local HTTP API checks the user pool's JWTs instead.",
                "Resource Open (AWS::ApiGatewayV2::Route) has no JWT authorizer: the local HTTP API still asks for the user pool's JWT on it."],
            TemplateCoverage.Gaps(template));
    }

    [Fact]
    public void Every_resource_of_the_projects_own_template_is_covered_locally()
    {
        var template = CloudFormationTemplate.Load(Repository.PathOf("Infra", "Deploy", "template.yaml"));

        Assert.Empty(TemplateCoverage.Gaps(template));
        Assert.Contains(template.Resources, r => TemplateCoverage.TreatmentOf(r.Type) == LocalTreatment.StoodFor);
    }
}
