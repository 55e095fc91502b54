using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ImageAspire.LocalEdge;

/// <summary>
/// The CSP sources that allow the web app's inline scripts: one <c>'sha256-…'</c> per inline <c>&lt;script&gt;</c> of
/// index.html (the import map the build writes there), as Infra/Deploy/csp-script-sources.sh computes them for the
/// stack's <c>WebScriptSources</c>. The template's CSP names that parameter; the edge fills it from the index.html
/// it serves, and again whenever a build replaces the file.
/// </summary>
public static partial class InlineScripts
{
    /// <summary>Stands for the parameter while the template is resolved; replaced per response.</summary>
    public const string Placeholder = "'web-script-sources'";

    private static (string File, DateTime Written, long Length, string Sources) _last = (string.Empty, default, 0, string.Empty);

    public static string CspSources(string html) =>
        string.Join(' ', InlineScript().Matches(html).Select(m => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value)))}'"));

    /// <summary>The sources for the index.html under <paramref name="webRoot"/>, read again only when the file changed.</summary>
    public static string CspSourcesOf(string webRoot)
    {
        var file = new FileInfo(Path.Combine(webRoot, "index.html"));
        if (!file.Exists)
        {
            return string.Empty;
        }

        var last = _last;
        if (last.File == file.FullName && last.Written == file.LastWriteTimeUtc && last.Length == file.Length)
        {
            return last.Sources;
        }

        var sources = CspSources(File.ReadAllText(file.FullName));
        _last = (file.FullName, file.LastWriteTimeUtc, file.Length, sources);
        return sources;
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();
}
