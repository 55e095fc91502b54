using System.Text.Json.Nodes;
using ImageAspire.LocalAws.Templates;

namespace ImageAspire.LocalEdge;

/// <summary>One cache behavior of the template's distribution: which paths go to which origin. (The edge does not cache.)</summary>
public sealed record EdgeBehavior(string PathPattern, string OriginId, bool RequiresSignedAccess = false)
{
    /// <summary>CloudFront path patterns: '*' matches any characters (including '/'), '?' one character.</summary>
    public bool Matches(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Match(PathPattern, 0, path, 0);
    }

    private static bool Match(string pattern, int p, string text, int t)
    {
        while (p < pattern.Length)
        {
            switch (pattern[p])
            {
                case '*':
                    for (var rest = t; rest <= text.Length; rest++)
                    {
                        if (Match(pattern, p + 1, text, rest))
                        {
                            return true;
                        }
                    }

                    return false;
                case '?':
                    if (t >= text.Length)
                    {
                        return false;
                    }

                    break;
                default:
                    if (t >= text.Length || pattern[p] != text[t])
                    {
                        return false;
                    }

                    break;
            }

            p++;
            t++;
        }

        return t == text.Length;
    }
}

/// <summary>What the local edge takes from the template's CloudFront distribution.</summary>
public sealed record EdgeDefinition(IReadOnlyList<EdgeBehavior> Behaviors, EdgeBehavior Default, IReadOnlyDictionary<string, string> OriginPaths, IReadOnlyDictionary<string, string> SecurityHeaders)
{
    /// <summary>The behavior for a request path, first match wins, as in CloudFront.</summary>
    public EdgeBehavior For(string path) => Behaviors.FirstOrDefault(b => b.Matches(path)) ?? Default;

    public static EdgeDefinition FromTemplate(CloudFormationTemplate template, TemplateContext context)
    {
        ArgumentNullException.ThrowIfNull(template);
        var distribution = template.ResourcesOfType("AWS::CloudFront::Distribution").Single();
        var config = distribution.Properties["DistributionConfig"]!;
        var behaviors = (config["CacheBehaviors"] as JsonArray ?? [])
            .Select(b => new EdgeBehavior((string)b!["PathPattern"]!, (string)b["TargetOriginId"]!, b["TrustedKeyGroups"] is JsonArray { Count: > 0 }))
            .ToList();
        var defaultBehavior = config["DefaultCacheBehavior"]!;
        var originPaths = (config["Origins"] as JsonArray ?? [])
            .ToDictionary(o => (string)o!["Id"]!, o => (string?)o!["OriginPath"] ?? string.Empty);

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var policy = template.ResourcesOfType("AWS::CloudFront::ResponseHeadersPolicy").SingleOrDefault();
        if (policy?.Properties["ResponseHeadersPolicyConfig"]?["SecurityHeadersConfig"] is JsonObject security)
        {
            if (security["StrictTransportSecurity"] is { } hsts)
            {
                headers["Strict-Transport-Security"] = $"max-age={(long)hsts["AccessControlMaxAgeSec"]!}"
                    + ((bool?)hsts["IncludeSubdomains"] == true ? "; includeSubDomains" : string.Empty)
                    + ((bool?)hsts["Preload"] == true ? "; preload" : string.Empty);
            }

            if (security["ContentTypeOptions"] is not null)
            {
                headers["X-Content-Type-Options"] = "nosniff";
            }

            if ((string?)security["FrameOptions"]?["FrameOption"] is { } frame)
            {
                headers["X-Frame-Options"] = frame;
            }

            if ((string?)security["ReferrerPolicy"]?["ReferrerPolicy"] is { } referrer)
            {
                headers["Referrer-Policy"] = referrer;
            }

            if (security["ContentSecurityPolicy"]?["ContentSecurityPolicy"] is { } csp)
            {
                headers["Content-Security-Policy"] = TemplateFunctions.Resolve(csp, context)!.ToString();
            }
        }

        return new EdgeDefinition(
            behaviors,
            new EdgeBehavior("*", (string)defaultBehavior["TargetOriginId"]!),
            originPaths,
            headers);
    }

    /// <summary>The CSP with extra sources for a directive (the local Cognito and S3 stand in for AWS's hosts).</summary>
    public static string AddSources(string csp, string directive, IEnumerable<string> sources)
    {
        ArgumentNullException.ThrowIfNull(csp);
        var parts = csp.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        var index = parts.FindIndex(p => p.StartsWith(directive + " ", StringComparison.Ordinal) || p == directive);
        var extra = string.Join(' ', sources);
        if (index < 0)
        {
            parts.Add($"{directive} {extra}");
        }
        else
        {
            parts[index] = $"{parts[index]} {extra}";
        }

        return string.Join("; ", parts);
    }
}
