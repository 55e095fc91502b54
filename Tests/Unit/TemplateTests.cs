using System.Text.Json.Nodes;
using ImageAspire.LocalAws.Templates;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Unit;

public sealed class TemplateTests
{
    private static readonly CloudFormationTemplate Template = CloudFormationTemplate.Load(Repository.PathOf("Infra", "Deploy", "template.yaml"));

    [Fact]
    public async Task The_template_is_valid_against_the_aws_resource_specification()
    {
        var (exitCode, output) = await Repository.RunNodeAsync(
            Repository.PathOf("Infra", "Deploy", "validation"), "validate-template.js", [Repository.PathOf("Infra", "Deploy", "template.yaml")], TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, output);
        Assert.Contains("resources valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_template_fails_validation_with_each_mistake_named()
    {
        var text = (await File.ReadAllTextAsync(Repository.PathOf("Infra", "Deploy", "template.yaml"), TestContext.Current.CancellationToken))
            .Replace("      ProtocolType: HTTP", "      ProtocolTyp: HTTP", StringComparison.Ordinal)
            .Replace("      MemorySize: !Ref FunctionMemorySize", "      MemorySize: lots", StringComparison.Ordinal)
            .Replace("IntegrationUri: !GetAtt ImageFunction.Arn", "IntegrationUri: !GetAtt ImageFunction.Nope", StringComparison.Ordinal)
            .Replace("      BillingMode: PAY_PER_REQUEST", "      BillingMode: [PAY_PER_REQUEST]", StringComparison.Ordinal)
            .Replace("    Type: AWS::Cognito::UserPoolGroup", "    Type: AWS::Cognito::UserPoolGroupz", StringComparison.Ordinal)
            .Replace("      UserPoolId: !Ref UserPool\n      GenerateSecret", "      GenerateSecret", StringComparison.Ordinal);
        var broken = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(broken, text, TestContext.Current.CancellationToken);
        try
        {
            var (exitCode, output) = await Repository.RunNodeAsync(
                Repository.PathOf("Infra", "Deploy", "validation"), "validate-template.js", [broken], TestContext.Current.CancellationToken);

            Assert.Equal(1, exitCode);
            Assert.Contains("HttpApi.Properties.ProtocolTyp: unknown property", output, StringComparison.Ordinal);
            Assert.Contains("ImageFunction.Properties.MemorySize: expected a number", output, StringComparison.Ordinal);
            Assert.Contains("has no attribute 'Nope'", output, StringComparison.Ordinal);
            Assert.Contains("ImagesTable.Properties.BillingMode: expected a string", output, StringComparison.Ordinal);
            Assert.Contains("UserPoolClient.Properties.UserPoolId: required property is missing", output, StringComparison.Ordinal);
            Assert.Contains("unknown resource type AWS::Cognito::UserPoolGroupz", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public void Short_forms_are_read_as_their_long_forms()
    {
        var template = CloudFormationTemplate.Parse("""
            Parameters:
              Name: { Type: String, Default: app }
            Conditions:
              IsApp: !Equals [!Ref Name, app]
            Resources:
              Thing:
                Type: AWS::S3::Bucket
                Properties:
                  A: !Ref Name
                  B: !Sub "${Name}-${AWS::Region}-${Other.Arn}"
                  C: !GetAtt Other.Arn
                  D: !If [IsApp, yes-branch, no-branch]
                  E: !Select [1, !Split [",", "a,b,c"]]
                  F: !Join ["-", [x, !Ref Name]]
                  G: 42
                  H: "42"
                  I: true
            """);
        var context = new TemplateContext(template);
        context.SetAttribute("Other", "Arn", "arn:other");
        var properties = template.Resources.Single().Properties;

        Assert.Equal("""{"Ref":"Name"}""", properties["A"]!.ToJsonString());
        Assert.Equal("""{"Fn::GetAtt":["Other","Arn"]}""", properties["C"]!.ToJsonString());
        var resolved = (JsonObject)TemplateFunctions.Resolve(properties, context)!;
        Assert.Equal("app", (string?)resolved["A"]);
        Assert.Equal("app-us-east-1-arn:other", (string?)resolved["B"]);
        Assert.Equal("arn:other", (string?)resolved["C"]);
        Assert.Equal("yes-branch", (string?)resolved["D"]);
        Assert.Equal("b", (string?)resolved["E"]);
        Assert.Equal("x-app", (string?)resolved["F"]);
        Assert.Equal(42, (long)resolved["G"]!);
        Assert.Equal("42", (string?)resolved["H"]);
        Assert.True((bool)resolved["I"]!);
    }

    [Fact]
    public void Unresolvable_references_are_errors_not_empty_strings()
    {
        var template = CloudFormationTemplate.Parse("Resources:\n  X:\n    Type: AWS::S3::Bucket\n    Properties:\n      A: !GetAtt Missing.Arn\n");
        Assert.Throws<TemplateException>(() => TemplateFunctions.Resolve(template.Resources[0].Properties, new TemplateContext(template)));
        Assert.Throws<TemplateException>(() => CloudFormationTemplate.Parse("Resources: !Bogus x"));
        Assert.Throws<TemplateException>(() => CloudFormationTemplate.Parse("a: [unclosed"));
    }

    [Fact]
    public void Failed_s3_event_invocations_are_retried_and_an_upload_claim_outlasts_the_longest_run()
    {
        var config = Template.ResourcesOfType("AWS::Lambda::EventInvokeConfig").Single();
        Assert.Equal("ImageFunction", (string?)config.Properties["FunctionName"]?["Ref"]);
        Assert.Equal("2", config.Properties["MaximumRetryAttempts"]?.ToString());

        // A retry may only take over a claim once its worker cannot be running any more.
        var longestRun = TimeSpan.FromSeconds(int.Parse(Template.Root["Parameters"]!["FunctionTimeout"]!["MaxValue"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(new ImageAspire.ImageService.Processing.ProcessingOptions().ClaimTimeout > longestRun);
    }
}
