using System.Diagnostics;

namespace ImageAspire.ImageService.Lambda;

/// <summary>Lambda's X-Ray trace header (<c>Root=1-…;Parent=…;Sampled=1</c>) as a W3C trace context, so traces continue.</summary>
public static class XRayTraceHeader
{
    /// <summary>The W3C <c>traceparent</c> for an X-Ray trace header, or null when it has no root and parent.</summary>
    public static string? ToTraceParent(string? xrayTraceId)
    {
        if (string.IsNullOrEmpty(xrayTraceId))
        {
            return null;
        }

        var parts = xrayTraceId.Split(';').Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim()).ToDictionary(g => g.Key, g => g.First()[1].Trim());
        if (!parts.TryGetValue("Root", out var root) || !parts.TryGetValue("Parent", out var parent))
        {
            return null;
        }

        var rootParts = root.Split('-');
        if (rootParts.Length != 3 || rootParts[1].Length != 8 || rootParts[2].Length != 24 || parent.Length != 16)
        {
            return null;
        }

        var sampled = parts.GetValueOrDefault("Sampled") == "1" ? "01" : "00";
        return $"00-{rootParts[1]}{rootParts[2]}-{parent}-{sampled}".ToLowerInvariant();
    }

    /// <summary>The parent context for a span started outside an HTTP request (S3 events, the sweep).</summary>
    public static ActivityContext ParentContext(string? xrayTraceId) =>
        ToTraceParent(xrayTraceId) is { } traceParent && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
}
