using ImageAspire.LocalEdge;
using ImageAspire.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageAspire.Tests.Unit;

/// <summary>The local edge's web bucket answers conditional requests as S3 and CloudFront do.</summary>
public sealed class EdgeStaticSiteTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("edge-site-").FullName;

    public EdgeStaticSiteTests()
    {
        File.WriteAllText(Path.Combine(_root, "index.html"), "<!DOCTYPE html><title>app</title>");
        Directory.CreateDirectory(Path.Combine(_root, "css"));
        File.WriteAllText(Path.Combine(_root, "css", "app.css"), "body { color: black; }");
        File.WriteAllBytes(Path.Combine(_root, "css", "app.css.br"), [1, 2, 3, 4]);
        File.SetLastWriteTimeUtc(Path.Combine(_root, "css", "app.css"), new DateTime(2026, 11, 29, 12, 0, 0, 500, DateTimeKind.Utc));
    }

    [Fact]
    public async Task A_file_carries_its_etag_and_a_revalidation_with_it_gets_a_304_without_a_body()
    {
        var first = await GetAsync("/css/app.css");
        Assert.Equal(200, first.StatusCode);
        var etag = first.Headers.ETag.ToString();
        Assert.Matches("^\"[0-9a-f]{32}\"$", etag);
        Assert.Equal("body { color: black; }", first.Body);

        foreach (var ifNoneMatch in new[] { etag, $"W/{etag}", $"\"other\", {etag}", "*" })
        {
            var again = await GetAsync("/css/app.css", ("If-None-Match", ifNoneMatch));
            Assert.Equal(304, again.StatusCode);
            Assert.Equal(string.Empty, again.Body);
            Assert.Equal(etag, again.Headers.ETag.ToString());
            Assert.Equal(StaticSite.Immutable, again.Headers.CacheControl.ToString());
        }

        Assert.Equal(200, (await GetAsync("/css/app.css", ("If-None-Match", "\"other\""))).StatusCode);
    }

    [Fact]
    public async Task If_modified_since_counts_whole_seconds_and_yields_to_if_none_match()
    {
        Assert.Equal(304, (await GetAsync("/css/app.css", ("If-Modified-Since", "Sun, 29 Nov 2026 12:00:00 GMT"))).StatusCode);
        Assert.Equal(200, (await GetAsync("/css/app.css", ("If-Modified-Since", "Sun, 29 Nov 2026 11:59:59 GMT"))).StatusCode);
        Assert.Equal(200, (await GetAsync("/css/app.css", ("If-Modified-Since", "Sun, 29 Nov 2026 12:00:00 GMT"), ("If-None-Match", "\"other\""))).StatusCode);
    }

    [Fact]
    public async Task Each_encoding_has_its_own_etag_and_client_routes_share_the_index()
    {
        var identity = (await GetAsync("/css/app.css")).Headers.ETag.ToString();
        var brotli = await GetAsync("/css/app.css", ("Accept-Encoding", "br"));
        Assert.Equal("br", brotli.Headers.ContentEncoding.ToString());
        Assert.NotEqual(identity, brotli.Headers.ETag.ToString());
        Assert.Equal(304, (await GetAsync("/css/app.css", ("Accept-Encoding", "br"), ("If-None-Match", brotli.Headers.ETag.ToString()))).StatusCode);
        Assert.Equal(200, (await GetAsync("/css/app.css", ("Accept-Encoding", "br"), ("If-None-Match", identity))).StatusCode);

        var index = (await GetAsync("/")).Headers.ETag.ToString();
        Assert.Equal(304, (await GetAsync("/images/01JEXAMPLE", ("If-None-Match", index))).StatusCode);
    }

    [Fact]
    public async Task The_fingerprinted_files_are_immutable_and_only_the_index_is_revalidated()
    {
        Directory.CreateDirectory(Path.Combine(_root, "_framework"));
        File.WriteAllText(Path.Combine(_root, "_framework", "dotnet.abcdefghij.js"), "export {};");

        Assert.Equal("public, max-age=31536000, immutable", (await GetAsync("/_framework/dotnet.abcdefghij.js")).Headers.CacheControl.ToString());
        Assert.Equal("public, max-age=31536000, immutable", (await GetAsync("/css/app.css")).Headers.CacheControl.ToString());
        Assert.Equal("no-cache", (await GetAsync("/")).Headers.CacheControl.ToString());
        Assert.Equal("no-cache", (await GetAsync("/index.html")).Headers.CacheControl.ToString());
        Assert.Equal("no-cache", (await GetAsync("/images/01JEXAMPLE")).Headers.CacheControl.ToString());
    }

    [Fact]
    public async Task The_csp_hashes_of_inline_scripts_are_the_deploy_scripts_and_follow_a_rebuilt_index()
    {
        // Two inline scripts (one with non-ASCII text and a newline), one external script that must not count.
        var html = "<!DOCTYPE html><head><script type=\"importmap\">{\n  \"imports\": { \"./a.js\": \"./a.x1.js\" } }</script>"
            + "<script src=\"_framework/blazor.webassembly.js\"></script></head><body><SCRIPT>console.log('Grüße');</SCRIPT></body>";
        var index = Path.Combine(_root, "index.html");
        await File.WriteAllTextAsync(index, html, TestContext.Current.CancellationToken);

        var sources = InlineScripts.CspSources(html);
        var (exitCode, output) = await Repository.RunAsync("bash", [Repository.PathOf("Infra", "Deploy", "csp-script-sources.sh"), index], Repository.Root, TestContext.Current.CancellationToken);
        Assert.True(exitCode == 0, output);
        Assert.Equal(sources, output.Trim());
        Assert.Equal(2, sources.Split(' ').Length);
        // The browser's own computation for the first: SHA-256 of the element's text, base64.
        Assert.StartsWith($"'sha256-{Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("{\n  \"imports\": { \"./a.js\": \"./a.x1.js\" } }"u8))}'", sources, StringComparison.Ordinal);

        Assert.Equal(sources, InlineScripts.CspSourcesOf(_root));
        await File.WriteAllTextAsync(index, "<script type=\"importmap\">{}</script>", TestContext.Current.CancellationToken);
        File.SetLastWriteTimeUtc(index, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(InlineScripts.CspSources("<script type=\"importmap\">{}</script>"), InlineScripts.CspSourcesOf(_root));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<(int StatusCode, IHeaderDictionary Headers, string Body)> GetAsync(string path, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        // SendFileAsync needs the file-sending feature a server would give; the default one writes to the body stream.
        using var body = new MemoryStream();
        context.Response.Body = body;
        context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>(new Microsoft.AspNetCore.Http.StreamResponseBodyFeature(body));
        await StaticSite.ServeAsync(context, new EdgeOptions { WebRoot = _root }, NullLogger.Instance);
        return (context.Response.StatusCode, context.Response.Headers, System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }
}
