
namespace ImageAspire.LocalEdge;

/// <summary>The template's response headers policy on every response (its headers override the origin's).</summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next, EdgeDefinition definition, EdgeOptions settings)
{
    private readonly Dictionary<string, string> _headers = definition.SecurityHeaders.ToDictionary(
        h => h.Key,
        h => h.Key.Equals("Content-Security-Policy", StringComparison.OrdinalIgnoreCase) && settings.ConnectSources.Length > 0
            ? EdgeDefinition.AddSources(h.Value, "connect-src", settings.ConnectSources.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            : h.Value,
        StringComparer.OrdinalIgnoreCase);

    private readonly string _webRoot = settings.WebRoot;

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.OnStarting(() =>
        {
            foreach (var (name, value) in _headers)
            {
                context.Response.Headers[name] = value.Contains(InlineScripts.Placeholder, StringComparison.Ordinal)
                    ? value.Replace(InlineScripts.Placeholder, InlineScripts.CspSourcesOf(_webRoot), StringComparison.Ordinal)
                    : value;
            }

            return Task.CompletedTask;
        });
        return next(context);
    }
}
