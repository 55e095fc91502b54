using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>
/// A second visit in the same browser: every file of the app is revalidated (the edge answers with its ETag, as S3 and
/// CloudFront do) and none is downloaded again. Prints what both visits moved on the wire.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed class RepeatVisitTests(WebAppHostFixture fixture)
{
    [Fact]
    public async Task A_repeat_visit_downloads_no_file_of_the_app_again()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", TestContext.Current.CancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var context = await browser.NewContextAsync();

        var first = await VisitAsync(context);
        var second = await VisitAsync(context);

        var firstBytes = first.Values.Sum(r => r.Bytes);
        var secondBytes = second.Values.Sum(r => r.Bytes);
        TestContext.Current.SendDiagnosticMessage($"first visit: {firstBytes:N0} bytes in {first.Count} requests; repeat visit: {secondBytes:N0} bytes in {second.Count} requests "
            + $"({second.Values.Count(r => r.Status == 304)} answered 304, {second.Values.Count(r => r.FromCache)} from the cache)");
        Console.WriteLine($"repeat visit: {secondBytes:N0} bytes in {second.Count} requests (first visit {firstBytes:N0} bytes in {first.Count})");

        // Nothing above a handful of bytes of body comes twice: each file is a 304 or a cache hit.
        var downloaded = second.Where(r => r.Value.Status == 200 && !r.Value.FromCache && r.Value.Bytes > 2048).Select(r => $"{r.Key} {r.Value.Bytes}").ToList();
        Assert.True(downloaded.Count == 0, string.Join(", ", downloaded));
        Assert.True(secondBytes * 20 < firstBytes, $"repeat visit {secondBytes} bytes, first {firstBytes}");
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
