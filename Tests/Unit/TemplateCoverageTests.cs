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
    public void Every_resource_of_the_projects_own_template_is_covered_locally()
    {
        var template = CloudFormationTemplate.Load(Repository.PathOf("Infra", "Deploy", "template.yaml"));

        Assert.Empty(TemplateCoverage.Gaps(template));
        Assert.Contains(template.Resources, r => TemplateCoverage.TreatmentOf(r.Type) == LocalTreatment.StoodFor);
    }
}
