using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using ImageAspire.Tests.Support;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>
/// A second visit in the same browser: the runtime's fingerprinted files come from the cache without a request, the
/// rest is revalidated (the edge answers with its ETag, as S3 and CloudFront do). Then a new deploy of index.html is
/// seen on the next visit. Prints what the visits moved on the wire.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed class RepeatVisitTests(WebAppHostFixture fixture)
{
    private const long RepeatVisitBudget = 30 * 1024;

    [Fact]
    public async Task A_repeat_visit_moves_under_30_KB_and_a_new_deploy_is_seen_on_the_next_visit()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", TestContext.Current.CancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var context = await browser.NewContextAsync();

        var first = await VisitAsync(context);
        var second = await VisitAsync(context);

        var firstBytes = first.Values.Sum(r => r.Bytes);
        var secondBytes = second.Values.Sum(r => r.Bytes);
        var requested = second.Where(r => !r.Value.FromCache).ToList();
        TestContext.Current.SendDiagnosticMessage($"first visit: {firstBytes:N0} bytes in {first.Count} requests; repeat visit: {secondBytes:N0} bytes in {requested.Count} requests "
            + $"({requested.Count(r => r.Value.Status == 304)} answered 304, {second.Values.Count(r => r.FromCache)} files from the cache without asking)");
        Console.WriteLine($"repeat visit: {secondBytes:N0} bytes in {requested.Count} requests (first visit {firstBytes:N0} bytes in {first.Count})");
        Console.WriteLine("first visit, largest: " + string.Join(", ", first.OrderByDescending(r => r.Value.Bytes).Take(6).Select(r => $"{r.Key[(r.Key.LastIndexOf('/') + 1)..]} {r.Value.Bytes:N0}")));
        Console.WriteLine("repeat visit, asked: " + string.Join(", ", requested.Select(r => $"{r.Key[(r.Key.LastIndexOf('/') + 1)..]} {r.Value.Status} {r.Value.Bytes:N0}")));

        Assert.DoesNotContain(requested, r => r.Key.Contains("/_framework/", StringComparison.Ordinal));
        Assert.Contains(second, r => r.Key.Contains("/_framework/", StringComparison.Ordinal) && r.Value.FromCache);
        var downloaded = requested.Where(r => r.Value.Status == 200 && r.Value.Bytes > 2048).Select(r => $"{r.Key} {r.Value.Bytes}").ToList();
        Assert.True(downloaded.Count == 0, string.Join(", ", downloaded));
        Assert.True(secondBytes <= RepeatVisitBudget, $"repeat visit {secondBytes} bytes: {string.Join(", ", requested.Select(r => $"{r.Key} {r.Value.Status} {r.Value.Bytes}"))}");

        // A deploy replaces index.html (a new build names new fingerprinted files in it); the next visit has it.
        var index = Repository.PathOf("artifacts", "web-local", "wwwroot", "index.html");
        var originals = new[] { index, index + ".br", index + ".gz" }.Where(File.Exists).ToDictionary(f => f, File.ReadAllBytes);
        var marker = $"deploy-{Guid.NewGuid():N}";
        try
        {
            await DeployIndexAsync(index, (await File.ReadAllTextAsync(index, TestContext.Current.CancellationToken)).Replace("</head>", $"    <meta name=\"imageaspire-deploy\" content=\"{marker}\" />\n</head>", StringComparison.Ordinal));
            var page = await context.NewPageAsync();
            await page.GotoAsync(WebAppHostFixture.Site.ToString());
            await page.GetByLabel("Email").WaitForAsync(new() { Timeout = 60_000 });
            Assert.Equal(marker, await page.Locator("meta[name=imageaspire-deploy]").GetAttributeAsync("content"));
            await page.CloseAsync();
        }
        finally
        {
            foreach (var (file, bytes) in originals)
            {
                await File.WriteAllBytesAsync(file, bytes, TestContext.Current.CancellationToken);
            }
        }
    }

    /// <summary>Writes index.html and its precompressed copies, as a publish does.</summary>
    private static async Task DeployIndexAsync(string index, string html)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(html);
        await File.WriteAllBytesAsync(index, bytes, TestContext.Current.CancellationToken);
        await using (var brotli = new BrotliStream(File.Create(index + ".br"), CompressionLevel.SmallestSize))
        {
            await brotli.WriteAsync(bytes, TestContext.Current.CancellationToken);
        }

        await using var gzip = new GZipStream(File.Create(index + ".gz"), CompressionLevel.SmallestSize);
        await gzip.WriteAsync(bytes, TestContext.Current.CancellationToken);
    }

    // One visit of the sign-in page until the app has started: per URL, its status, whether the cache served it and
    // the bytes it took on the wire (headers and body, as Chromium counts them).
    private static async Task<Dictionary<string, (int Status, bool FromCache, long Bytes)>> VisitAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
        var cdp = await context.NewCDPSessionAsync(page);
        var responses = new ConcurrentDictionary<string, (string Url, int Status, bool FromCache)>();
        var bytes = new ConcurrentDictionary<string, long>();
        cdp.Event("Network.responseReceived").OnEvent += (_, e) =>
        {
            var response = e!.Value.GetProperty("response");
            responses[e.Value.GetProperty("requestId").GetString()!] = (response.GetProperty("url").GetString()!, response.GetProperty("status").GetInt32(),
                response.TryGetProperty("fromDiskCache", out var disk) && disk.GetBoolean() || response.TryGetProperty("fromMemoryCache", out var memory) && memory.GetBoolean());
        };
        cdp.Event("Network.loadingFinished").OnEvent += (_, e) => bytes[e!.Value.GetProperty("requestId").GetString()!] = (long)e.Value.GetProperty("encodedDataLength").GetDouble();
        await cdp.SendAsync("Network.enable");
        await page.GotoAsync(WebAppHostFixture.Site.ToString());
        await page.WaitForURLAsync("**/signin", new() { Timeout = 60_000 });
        await page.GetByLabel("Email").WaitForAsync(new() { Timeout = 60_000 });
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await page.CloseAsync();
        return responses.Where(r => !r.Value.Url.StartsWith("data:", StringComparison.Ordinal))
            .GroupBy(r => r.Value.Url)
            .ToDictionary(g => g.Key, g => (g.Last().Value.Status, g.Last().Value.FromCache, g.Sum(r => bytes.GetValueOrDefault(r.Key))));
    }
}
