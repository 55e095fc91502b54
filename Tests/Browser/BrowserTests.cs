using ImageAspire.Tests.Support;
using Microsoft.Playwright;
using NetVips;

namespace ImageAspire.Tests.Browser;

/// <summary>What a user does, in Chromium, against the real AppHost.</summary>
[Collection(WebAppHostGroup.Name)]
public sealed class BrowserTests(WebAppHostFixture fixture)
{
    private const float Timeout = 60_000;

    [Fact]
    public Task Sign_up_upload_two_images_open_one_delete_it() => WithSignedInPageAsync(UploadOpenAndDeleteAsync);

    [Fact]
    public Task Uploads_refused_as_busy_are_sent_again_until_done() => WithSignedInPageAsync(async (page, errors) =>
    {
        var files = Enumerable.Range(0, 3).Select(i => Path.Combine(Path.GetTempPath(), $"busy-{i}-{Guid.NewGuid():N}.jpg")).ToArray();
        foreach (var file in files)
        {
            await File.WriteAllBytesAsync(file, TestImages.Jpeg(4000, 3000), TestContext.Current.CancellationToken);
        }

        try
        {
            await page.Locator("[data-testid=file-input]").SetInputFilesAsync(files);
            await Assertions.Expect(page.Locator("[data-testid=upload][data-state=done]")).ToHaveCountAsync(3, new() { Timeout = 120_000 });
            Assert.Equal(0, await page.Locator("[data-testid=upload][data-state=failed]").CountAsync());
            var attempts = await page.Locator("[data-testid=upload]").EvaluateAllAsync<int[]>("items => items.map(i => Number(i.dataset.attempts))");
            Assert.Contains(attempts, a => a > 1);
            await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToHaveCountAsync(3);
            Assert.True(errors.Count == 0, string.Join(" | ", errors));
        }
        finally
        {
            Array.ForEach(files, File.Delete);
        }
    });

    /// <summary>Opens the site in Chromium, signs up a new user and runs <paramref name="steps"/>; a failure saves a screenshot.</summary>
    private async Task WithSignedInPageAsync(Func<IPage, List<string>, Task> steps, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", TestContext.Current.CancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);

        // 503 and 429 are "not now": the app waits and retries them, and the tests check that it does.
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("status of 503", StringComparison.Ordinal) && !message.Text.Contains("status of 429", StringComparison.Ordinal))
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && response.Status is not (503 or 429))
            {
                errors.Add($"{response.Status} {response.Url}");
            }
        };

        await page.GotoAsync(WebAppHostFixture.Site.ToString());
        try
        {
            await page.WaitForURLAsync("**/signin");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"The app did not start: {string.Join(" | ", errors)}", ex);
        }

        try
        {
            await Site.SignUpAsync(page);
            await steps(page, errors);
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException or Xunit.Sdk.XunitException)
        {
            await page.ScreenshotAsync(new() { Path = Site.Screenshot($"failure-{name}.png"), FullPage = true });
            var alerts = string.Join(" | ", await page.Locator("[role=alert]").AllInnerTextsAsync());
            throw new InvalidOperationException($"{ex.Message}\nAt {page.Url}; alerts: {alerts}; console: {string.Join(" | ", errors)}", ex);
        }
    }

    private static async Task UploadOpenAndDeleteAsync(IPage page, List<string> errors)
    {
        var small = Path.Combine(Path.GetTempPath(), $"small-{Guid.NewGuid():N}.jpg");
        var large = Path.Combine(Path.GetTempPath(), $"large-{Guid.NewGuid():N}.jpg");
        await File.WriteAllBytesAsync(small, TestImages.Jpeg(1600, 1200), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(large, NoisyJpeg(), TestContext.Current.CancellationToken);
        Assert.True(new FileInfo(large).Length > 5 * 1024 * 1024, "the large file must take the presigned path");
        try
        {
            await page.Locator("[data-testid=file-input]").SetInputFilesAsync([small, large]);

            var done = page.Locator("[data-testid=upload][data-state=done]");
            await Assertions.Expect(done).ToHaveCountAsync(2, new() { Timeout = 120_000 });
            Assert.Equal(0, await page.Locator("[data-testid=upload][data-state=failed]").CountAsync());
            Assert.Contains("direct to storage", await page.Locator("[data-testid=upload]").AllInnerTextsAsync() is var texts ? string.Join("\n", texts) : string.Empty, StringComparison.Ordinal);
            foreach (var progress in await page.Locator("[data-testid=upload] progress").AllAsync())
            {
                Assert.Equal("100", await progress.GetAttributeAsync("value"));
            }

            var items = page.Locator("[data-testid=gallery-item]");
            await Assertions.Expect(items).ToHaveCountAsync(2);
            await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.gallery img')].length === 2 && [...document.querySelectorAll('.gallery img')].every(i => i.complete && i.naturalWidth > 0)");
            await page.ScreenshotAsync(new() { Path = Site.Screenshot("gallery.png"), FullPage = true });

            await items.First.ClickAsync();
            await page.GetByRole(AriaRole.Table, new() { Name = "Renditions" }).WaitForAsync();
            Assert.Equal(6, await page.Locator("table tbody tr").CountAsync());
            await page.WaitForFunctionAsync("() => { const i = document.querySelector('.detail img'); return i && i.complete && i.naturalWidth > 0; }");
            await page.GetByRole(AriaRole.Button, new() { Name = "Delete…" }).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Yes, delete" }).ClickAsync();

            await page.GetByRole(AriaRole.Heading, new() { Name = "Your images" }).WaitForAsync();
            await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToHaveCountAsync(1);
            await page.ScreenshotAsync(new() { Path = Site.Screenshot("gallery-after-delete.png"), FullPage = true });
            Assert.True(errors.Count == 0, string.Join(" | ", errors));
        }
        finally
        {
            File.Delete(small);
            File.Delete(large);
        }
    }

    [Fact]
    public async Task The_edge_serves_the_app_with_the_templates_headers_and_routes()
    {
        using var http = new HttpClient { BaseAddress = WebAppHostFixture.Site };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/some/client/route");
        request.Headers.AcceptEncoding.ParseAdd("br");
        using var spa = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, spa.StatusCode);
        Assert.Equal("br", spa.Content.Headers.ContentEncoding.Single());
        Assert.Equal("DENY", spa.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", spa.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.StartsWith("max-age=", spa.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);

        using var api = await http.GetAsync(new Uri("/api/me", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, api.StatusCode);
        // Media needs signed access before anything else, as in CloudFront: unsigned, even a missing object is a 403.
        using var unsignedMedia = await http.GetAsync(new Uri("/media/nobody/none/thumb.jpg", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, unsignedMedia.StatusCode);
        using var config = await http.GetAsync(new Uri("/appsettings.json", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Contains(fixture.ClientId, await config.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        using var internalHook = await http.PostAsync(new Uri("/internal/s3-events", UriKind.Relative), null, TestContext.Current.CancellationToken);
        Assert.NotEqual(System.Net.HttpStatusCode.OK, internalHook.StatusCode);
    }

    private static byte[] NoisyJpeg()
    {
        using var noise = Image.Gaussnoise(3000, 2200, mean: 128, sigma: 60);
        using var rgb = noise.Bandjoin(noise.Rot180(), noise.Flip(Enums.Direction.Horizontal));
        using var uchar = rgb.Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);
        return uchar.JpegsaveBuffer(q: 95);
    }
}
