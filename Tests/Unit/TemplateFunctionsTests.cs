using System.Text.Json.Nodes;
using ImageAspire.LocalAws.Templates;

namespace ImageAspire.Tests.Unit;

/// <summary>The intrinsic functions, evaluated as CloudFormation evaluates them.</summary>
public sealed class TemplateFunctionsTests
{
    private static readonly CloudFormationTemplate Template = CloudFormationTemplate.Parse("""
        Parameters:
          Stage: { Type: String, Default: dev }
          Domain: { Type: String, Default: "" }
        Conditions:
          HasDomain: !Not [!Equals [!Ref Domain, ""]]
        Resources:
          Site:
            Type: AWS::CloudFront::Distribution
            Properties:
              Aliases: !If [HasDomain, [!Ref Domain], !Ref "AWS::NoValue"]
              Origins:
                - !Sub "site-${Stage}"
                - !If [HasDomain, !Ref Domain, !Ref "AWS::NoValue"]
              Name: !Join ["-", [app, !Select [1, !Split [",", "a,b,c"]]]]
              Zone: !FindInMap [Zones, !Ref Stage, Id]
        """);

    private static JsonObject Properties(IReadOnlyDictionary<string, string>? parameters = null) =>
        Template.Resources.Single().Properties is var raw
            ? (JsonObject)TemplateFunctions.Resolve(new JsonObject(raw.Where(p => p.Key != "Zone").Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))), new TemplateContext(Template, parameters))!
            : throw new InvalidOperationException();

    [Fact]
    public void A_property_that_resolves_to_NoValue_is_removed_not_set_to_empty()
    {
        var properties = Properties();

        Assert.False(properties.ContainsKey("Aliases"));
        Assert.Equal(["site-dev"], ((JsonArray)properties["Origins"]!).Select(o => (string?)o));
    }

    [Fact]
    public void With_the_condition_true_the_values_are_kept()
    {
        var properties = Properties(new Dictionary<string, string> { ["Domain"] = "img.example.com" });

        Assert.Equal(["img.example.com"], ((JsonArray)properties["Aliases"]!).Select(o => (string?)o));
        Assert.Equal(["site-dev", "img.example.com"], ((JsonArray)properties["Origins"]!).Select(o => (string?)o));
        Assert.Equal("app-b", (string?)properties["Name"]);
    }

    [Fact]
    public void A_whole_value_of_NoValue_resolves_to_null()
    {
        Assert.Null(TemplateFunctions.Resolve(new JsonObject { ["Ref"] = "AWS::NoValue" }, new TemplateContext(Template)));
    }

    [Fact]
    public void A_function_that_is_not_supported_is_named()
    {
        var zone = Template.Resources.Single().Properties["Zone"];

        var refusal = Assert.Throws<TemplateException>(() => TemplateFunctions.Resolve(zone, new TemplateContext(Template)));

        Assert.Equal("The intrinsic function Fn::FindInMap is not supported locally.", refusal.Message);
    }
}
