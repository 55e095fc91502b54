using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ImageAspire.LocalAws.Templates;

/// <summary>
/// Evaluates CloudFormation's intrinsic functions in a template's (long-form) JSON, as CloudFormation does when it
/// applies the template; <see cref="CloudFormationTemplate"/> reads the template, this resolves what it says.
/// </summary>
public static partial class TemplateFunctions
{
    // What Ref AWS::NoValue resolves to on the way: the property or list item holding it is removed.
    private const string NoValue = "\u0000AWS::NoValue";

    /// <summary>
    /// Resolves the intrinsic functions in <paramref name="node"/> against <paramref name="context"/>: <c>Ref</c>,
    /// <c>Fn::GetAtt</c>, <c>Fn::Sub</c>, <c>Fn::Join</c>, <c>Fn::Select</c>, <c>Fn::Split</c>, the condition functions
    /// <c>Fn::If</c>, <c>Fn::Equals</c>, <c>Fn::Not</c>, <c>Fn::And</c>, <c>Fn::Or</c> and <c>Condition</c>. As in
    /// CloudFormation, a property or list item whose value is <c>Ref AWS::NoValue</c> is removed (a whole value that is
    /// resolves to null). Any other function, or a reference that cannot be resolved yet, is a <see cref="TemplateException"/>.
    /// </summary>
    public static JsonNode? Resolve(JsonNode? node, TemplateContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var resolved = ResolveNode(node, context);
        return IsNoValue(resolved) ? null : resolved;
    }

    private static bool IsNoValue(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) && text == NoValue;

    private static JsonNode? ResolveNode(JsonNode? node, TemplateContext context)
    {
        switch (node)
        {
            case JsonArray array:
                return new JsonArray(array.Select(item => ResolveNode(item, context)).Where(item => !IsNoValue(item)).ToArray());
            case JsonObject obj when obj.Count == 1 && IsIntrinsic(obj.First().Key):
                var (function, argument) = (obj.First().Key, obj.First().Value);
                return function switch
                {
                    "Ref" when argument?.ToString() == "AWS::NoValue" => JsonValue.Create(NoValue),
                    "Ref" => JsonValue.Create(context.Ref(argument?.ToString() ?? string.Empty)),
                    "Fn::Sub" => JsonValue.Create(Substitute(argument, context)),
                    "Fn::GetAtt" => JsonValue.Create(context.GetAtt(
                        argument?[0]?.ToString() ?? string.Empty, argument?[1]?.ToString() ?? string.Empty)),
                    "Fn::Join" => JsonValue.Create(string.Join(
                        argument?[0]?.ToString(),
                        (Resolve(argument?[1], context) as JsonArray ?? []).Select(item => item?.ToString()))),
                    "Fn::Select" => (Resolve(argument?[1], context) as JsonArray)?[int.Parse(Resolve(argument?[0], context)?.ToString() ?? "0", CultureInfo.InvariantCulture)]?.DeepClone(),
                    "Fn::Split" => new JsonArray((Resolve(argument?[1], context)?.ToString() ?? string.Empty)
                        .Split(argument?[0]?.ToString()).Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
                    "Fn::Equals" => JsonValue.Create(
                        Resolve(argument?[0], context)?.ToJsonString() == Resolve(argument?[1], context)?.ToJsonString()),
                    "Fn::Not" => JsonValue.Create(!IsTrue(Resolve(argument?[0], context))),
                    "Fn::And" => JsonValue.Create((argument as JsonArray ?? []).All(c => IsTrue(Resolve(c, context)))),
                    "Fn::Or" => JsonValue.Create((argument as JsonArray ?? []).Any(c => IsTrue(Resolve(c, context)))),
                    "Condition" => JsonValue.Create(context.Condition(argument?.ToString() ?? string.Empty)),
                    "Fn::If" => ResolveNode(context.Condition(argument?[0]?.ToString() ?? string.Empty) ? argument?[1] : argument?[2], context),
                    _ => throw new TemplateException($"The intrinsic function {function} is not supported locally."),
                };
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (ResolveNode(value, context) is var resolved && !IsNoValue(resolved))
                    {
                        result[key] = resolved;
                    }
                }

                return result;
            default:
                return node?.DeepClone();
        }
    }

    private static bool IsIntrinsic(string key) => key is "Ref" or "Condition" || key.StartsWith("Fn::", StringComparison.Ordinal);

    private static bool IsTrue(JsonNode? node) => node is JsonValue value && value.TryGetValue<bool>(out var result) && result;

    private static string Substitute(JsonNode? argument, TemplateContext context)
    {
        var (format, variables) = argument is JsonArray pair
            ? (pair[0]?.ToString() ?? string.Empty, pair[1] as JsonObject)
            : (argument?.ToString() ?? string.Empty, null);

        return SubVariable().Replace(format, match =>
        {
            var name = match.Groups["name"].Value;
            if (name.StartsWith('!'))
            {
                return "${" + name[1..] + "}";
            }

            if (variables?[name] is { } variable)
            {
                return Resolve(variable, context)?.ToString() ?? string.Empty;
            }

            var dot = name.IndexOf('.', StringComparison.Ordinal);
            return dot > 0 && !name.StartsWith("AWS::", StringComparison.Ordinal)
                ? context.GetAtt(name[..dot], name[(dot + 1)..])
                : context.Ref(name);
        });
    }

    [GeneratedRegex(@"\$\{(?<name>[^}]+)\}")]
    private static partial Regex SubVariable();
}
