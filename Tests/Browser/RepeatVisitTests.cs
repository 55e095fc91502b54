using System.Collections.Concurrent;
using System.Text.Json;
using ImageAspire.Tests.Support;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>
/// A second visit in the same browser: every file named by its content comes from the cache without a request; only
/// index.html and the runtime configuration are revalidated (the edge answers with its ETag, as S3 and CloudFront do).
/// Then the app is published again with a change, and the next visit fetches the new build's files. Prints what the
/// visits moved on the wire.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed partial class RepeatVisitTests(WebAppHostFixture fixture)
{
    [System.Text.RegularExpressions.GeneratedRegex(@"\.[a-z0-9]{10}\.[a-z0-9]+$")]
    private static partial System.Text.RegularExpressions.Regex Fingerprinted();

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

        // Only index.html (at "/") and the runtime configuration are asked for again; every other file is named by its
        // content and comes from the cache.
        Assert.All(requested, r => Assert.True(new Uri(r.Key).AbsolutePath is "/" or "/appsettings.json", $"asked again for {r.Key}"));
        Assert.Contains(second, r => r.Key.Contains("/_framework/", StringComparison.Ordinal) && r.Value.FromCache);
        Assert.Contains(second, r => r.Key.Contains("/css/app.", StringComparison.Ordinal) && r.Value.FromCache);
        var plain = Directory.EnumerateFiles(Repository.PathOf("artifacts", "web-local", "wwwroot"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Repository.PathOf("artifacts", "web-local", "wwwroot"), f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".br", StringComparison.Ordinal) && !f.EndsWith(".gz", StringComparison.Ordinal) && f is not ("index.html" or "appsettings.json" or ".publish-complete"))
            .Where(f => !Fingerprinted().IsMatch(f)).ToList();
        Assert.True(plain.Count == 0, "published without a fingerprint (it would be cached for a year under a name that stays): " + string.Join(", ", plain));
        var downloaded = requested.Where(r => r.Value.Status == 200 && r.Value.Bytes > 2048).Select(r => $"{r.Key} {r.Value.Bytes}").ToList();
        Assert.True(downloaded.Count == 0, string.Join(", ", downloaded));
        Assert.True(secondBytes <= RepeatVisitBudget, $"repeat visit {secondBytes} bytes: {string.Join(", ", requested.Select(r => $"{r.Key} {r.Value.Status} {r.Value.Bytes}"))}");

        // A second publish of a changed app into the folder the edge serves, as a deploy uploads a new build: the
        // assembly's version differs, so its fingerprint, the runtime's boot configuration and the import map change.
        var (exitCode, published) = await Repository.RunAsync("dotnet",
            ["publish", Repository.PathOf("Web", "Web.csproj"), "-c", "Release", "-o", Repository.PathOf("artifacts", "web-local"), "--nologo", "-v", "quiet",
                $"-p:InformationalVersion=deploy-{Guid.NewGuid():N}"], Repository.Root, TestContext.Current.CancellationToken);
        Assert.True(exitCode == 0, published);
        var third = await VisitAsync(context);
        var fetched = third.Where(r => r.Value.Status == 200 && !r.Value.FromCache && r.Value.Bytes > 2048).Select(r => r.Key).ToList();
        Console.WriteLine("after the second publish, fetched: " + string.Join(", ", fetched.Select(u => u[(u.LastIndexOf('/') + 1)..])));
        Assert.Contains(fetched, url => url.Contains("/_framework/ImageAspire.Web.", StringComparison.Ordinal) && !first.ContainsKey(url));
        Assert.DoesNotContain(fetched, url => url.Contains("/_framework/System.Private.CoreLib.", StringComparison.Ordinal));
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
