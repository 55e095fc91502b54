using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace ImageAspire.LocalAws.Templates;

/// <summary>A resource of a template: its logical id, type and (unresolved) properties.</summary>
public sealed record TemplateResource(string LogicalId, string Type, JsonObject Properties)
{
    /// <summary>An <c>AWS::Lambda::Function</c>'s <c>Environment.Variables</c>, unresolved (empty when it sets none).</summary>
    public JsonObject FunctionVariables => Properties["Environment"]?["Variables"] as JsonObject ?? [];
}

/// <summary>
/// A CloudFormation template read from YAML or JSON, with the short-form tags (<c>!Ref</c>, <c>!Sub</c>,
/// <c>!GetAtt</c>, ...) turned into their long forms (<c>Ref</c>, <c>Fn::Sub</c>, <c>Fn::GetAtt</c>). Reading only: what the
/// functions resolve to is <see cref="TemplateFunctions"/>'s business.
/// </summary>
public sealed class CloudFormationTemplate
{
    private CloudFormationTemplate(JsonObject root) => Root = root;

    /// <summary>The whole template as JSON, long-form intrinsic functions only.</summary>
    public JsonObject Root { get; }

    /// <summary>Every resource, in template order.</summary>
    public IReadOnlyList<TemplateResource> Resources =>
        (Root[nameof(Resources)] as JsonObject ?? [])
            .Select(r => new TemplateResource(
                r.Key,
                (string?)r.Value?["Type"] ?? throw new TemplateException($"Resource {r.Key} has no Type."),
                r.Value?["Properties"] as JsonObject ?? []))
            .ToList();

    /// <summary>The resources of one type, e.g. <c>AWS::S3::Bucket</c>.</summary>
    public IEnumerable<TemplateResource> ResourcesOfType(string type) => Resources.Where(r => r.Type == type);

    /// <summary>The resource <paramref name="logicalId"/> of <paramref name="type"/>; a <see cref="TemplateException"/> naming both when there is none.</summary>
    public TemplateResource Resource(string type, string logicalId) =>
        ResourcesOfType(type).SingleOrDefault(r => r.LogicalId == logicalId) ?? throw new TemplateException($"The template has no {type} {logicalId}.");

    /// <summary>Default values of the template's parameters.</summary>
    public IReadOnlyDictionary<string, string> ParameterDefaults =>
        (Root["Parameters"] as JsonObject ?? [])
            .Where(p => p.Value?["Default"] is not null)
            .ToDictionary(p => p.Key, p => p.Value!["Default"]!.ToString());

    /// <summary>Reads a template file (YAML, or JSON, which is YAML too).</summary>
    public static CloudFormationTemplate Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>Parses template text (YAML, or JSON, which is YAML too).</summary>
    public static CloudFormationTemplate Parse(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new TemplateException($"The template is not valid YAML: {ex.Message}", ex);
        }

        if (stream.Documents.Count != 1 || ToJson(stream.Documents[0].RootNode) is not JsonObject root)
        {
            throw new TemplateException("A template is one YAML mapping.");
        }

        return new CloudFormationTemplate(root);
    }

    private static readonly Dictionary<string, string> ShortForms = new(StringComparer.Ordinal)
    {
        ["!Ref"] = "Ref",
        ["!Condition"] = "Condition",
        ["!Base64"] = "Fn::Base64",
        ["!Cidr"] = "Fn::Cidr",
        ["!FindInMap"] = "Fn::FindInMap",
        ["!GetAtt"] = "Fn::GetAtt",
        ["!GetAZs"] = "Fn::GetAZs",
        ["!ImportValue"] = "Fn::ImportValue",
        ["!Join"] = "Fn::Join",
        ["!Select"] = "Fn::Select",
        ["!Split"] = "Fn::Split",
        ["!Sub"] = "Fn::Sub",
        ["!Transform"] = "Fn::Transform",
        ["!And"] = "Fn::And",
        ["!Equals"] = "Fn::Equals",
        ["!If"] = "Fn::If",
        ["!Not"] = "Fn::Not",
        ["!Or"] = "Fn::Or",
    };

    private static JsonNode? ToJson(YamlNode node)
    {
        JsonNode? value = node switch
        {
            YamlMappingNode mapping => ToJsonObject(mapping),
            YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
            YamlScalarNode scalar => ScalarToJson(scalar),
            _ => throw new TemplateException($"Unsupported YAML node at {node.Start}."),
        };

        if (node.Tag.IsEmpty || node.Tag.Value is "tag:yaml.org,2002:str" or "?" or "!")
        {
            return value;
        }

        if (!ShortForms.TryGetValue(node.Tag.Value, out var longForm))
        {
            throw new TemplateException($"Unknown tag {node.Tag.Value} at {node.Start}.");
        }

        // !GetAtt Resource.Attribute is the short form of Fn::GetAtt: [Resource, Attribute].
        if (longForm == "Fn::GetAtt" && value is JsonValue dotted && dotted.ToString() is var text && text.Contains('.', StringComparison.Ordinal))
        {
            var dot = text.IndexOf('.', StringComparison.Ordinal);
            value = new JsonArray(text[..dot], text[(dot + 1)..]);
        }

        return new JsonObject { [longForm] = value };
    }

    private static JsonObject ToJsonObject(YamlMappingNode mapping)
    {
        var result = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? throw new TemplateException($"Mapping keys must be scalars ({key.Start}).");
            result[name] = ToJson(value);
        }

        return result;
    }

    private static JsonValue? ScalarToJson(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        if (scalar.Style is not YamlDotNet.Core.ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            "null" or "~" or "" => null,
            _ when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && text.Any(char.IsDigit) => JsonValue.Create(number),
            _ => JsonValue.Create(text),
        };
    }
}

/// <summary>What <c>Ref</c> and <c>Fn::GetAtt</c> resolve to while a template is applied.</summary>
public sealed class TemplateContext
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _attributes = new(StringComparer.Ordinal);
    private readonly JsonObject _conditions;

    /// <summary>A context with the template's parameter defaults, overridden by <paramref name="parameters"/>, and pseudo parameters.</summary>
    public TemplateContext(CloudFormationTemplate template, IReadOnlyDictionary<string, string>? parameters = null,
        string accountId = "000000000000", string region = "us-east-1")
    {
        ArgumentNullException.ThrowIfNull(template);
        _conditions = template.Root["Conditions"] as JsonObject ?? [];
        foreach (var (name, value) in template.ParameterDefaults)
        {
            _values[name] = value;
        }

        foreach (var (name, value) in parameters ?? new Dictionary<string, string>())
        {
            _values[name] = value;
        }

        _values["AWS::AccountId"] = accountId;
        _values["AWS::Region"] = region;
        _values["AWS::Partition"] = "aws";
        _values["AWS::URLSuffix"] = "amazonaws.com";
        _values["AWS::StackName"] = _values.GetValueOrDefault("AppName", "stack");
    }

    /// <summary>The region <c>AWS::Region</c> resolves to.</summary>
    public string Region => _values["AWS::Region"];

    /// <summary>The account <c>AWS::AccountId</c> resolves to.</summary>
    public string AccountId => _values["AWS::AccountId"];

    /// <summary>Evaluates a condition of the template's <c>Conditions</c> section.</summary>
    public bool Condition(string name) =>
        _conditions[name] is { } expression
            ? TemplateFunctions.Resolve(expression, this) is JsonValue value && value.TryGetValue<bool>(out var result) && result
            : throw new TemplateException($"Unknown condition {name}.");

    /// <summary>Records what <c>Ref</c> to a resource resolves to once it exists.</summary>
    public void SetPhysicalId(string logicalId, string physicalId) => _values[logicalId] = physicalId;

    /// <summary>Records a resource attribute for <c>Fn::GetAtt</c>.</summary>
    public void SetAttribute(string logicalId, string attribute, string value) => _attributes[$"{logicalId}.{attribute}"] = value;

    /// <summary>Resolves a <c>Ref</c>.</summary>
    public string Ref(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new TemplateException($"Ref {name} cannot be resolved (yet).");

    /// <summary>Resolves a <c>Fn::GetAtt</c>.</summary>
    public string GetAtt(string logicalId, string attribute) =>
        _attributes.TryGetValue($"{logicalId}.{attribute}", out var value)
            ? value
            : throw new TemplateException($"Fn::GetAtt {logicalId}.{attribute} cannot be resolved (yet).");
}

/// <summary>A template that cannot be read or applied.</summary>
public sealed class TemplateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TemplateException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public TemplateException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception.</summary>
    public TemplateException() { }
}
