using System.Text.Json;
using System.Text.RegularExpressions;
using ImageAspire.Tests.Support;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>
/// The app as people use it who are not holding a mouse on a wide screen: axe-core on every page and state, the
/// keyboard alone, screen-reader announcements, paste and drop, and images chosen for the screen.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed partial class WebExperienceTests(WebAppHostFixture fixture)
{
    [Fact]
    public Task Axe_core_finds_no_serious_violation_on_any_page_or_state() => WithPageAsync(DesktopForAxe, async page =>
    {
        await Site.AssertAccessibleAsync(page, "the sign-in page");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign up" }).ClickAsync();
        await page.GetByLabel("Password").WaitForAsync();
        await Site.AssertAccessibleAsync(page, "the sign-up page");
        await page.GoBackAsync();
        await page.WaitForURLAsync("**/signin");

        await Site.SignUpAsync(page);
        await page.GetByText("No images yet").WaitForAsync();
        await Site.AssertAccessibleAsync(page, "the empty gallery");

        // Mid-upload: the API holds the request until axe has looked at the page.
        var release = new TaskCompletionSource();
        await page.RouteAsync("**/api/images", async route =>
        {
            if (route.Request.Method == "POST")
            {
                await release.Task;
            }

            await route.ContinueAsync();
        });
        using (var files = new TempImages(("held.jpg", TestImages.Jpeg(1600, 1200))))
        {
            await page.Locator("[data-testid=file-input]").SetInputFilesAsync(files.Paths);
            await page.Locator("[data-testid=upload][data-state=uploading]").WaitForAsync();
            await Site.AssertAccessibleAsync(page, "the upload panel during an upload");
            release.SetResult();
            await page.Locator("[data-testid=upload][data-state=done]").WaitForAsync();
        }

        using (var refused = new TempImages(("notes.txt", "not an image"u8.ToArray())))
        {
            await page.Locator("[data-testid=file-input]").SetInputFilesAsync(refused.Paths);
            await page.Locator("[data-testid=upload][data-state=failed]").WaitForAsync();
        }

        await UploadAsync(page, ("second.jpg", TestImages.Jpeg(1200, 900)));
        await WaitForImagesAsync(page, ".gallery img");
        await Site.AssertAccessibleAsync(page, "the gallery with images, a finished and a refused upload");

        await page.Locator("[data-testid=gallery-item]").First.ClickAsync();
        await WaitForImagesAsync(page, ".detail img");
        await Site.AssertAccessibleAsync(page, "the detail page");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete…" }).ClickAsync();
        await Site.AssertAccessibleAsync(page, "the detail page asking to confirm a delete");

        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await Site.AssertAccessibleAsync(page, "the detail page in dark mode");
        await page.GoBackAsync();
        await WaitForImagesAsync(page, ".gallery img");
        await Site.AssertAccessibleAsync(page, "the gallery in dark mode");
    });

    [Fact]
    public Task The_keyboard_alone_uploads_opens_moves_between_and_deletes_images() => WithPageAsync(Desktop, async page =>
    {
        await Site.SignUpAsync(page);

        // Reach the upload control with Tab and open the file chooser with Space, as a keyboard user does. The
        // handler goes on first: Playwright starts intercepting choosers only once one is registered.
        var chooserOpened = new TaskCompletionSource<IFileChooser>(TaskCreationOptions.RunContinuationsAsynchronously);
        page.FileChooser += (_, opened) => chooserOpened.TrySetResult(opened);
        await TabUntilAsync(page, "#file-input");
        await page.Keyboard.PressAsync("Space");
        var chooser = await chooserOpened.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        using (var files = new TempImages(("first.jpg", TestImages.Jpeg(800, 600)), ("second.jpg", TestImages.Jpeg(640, 480)), ("third.jpg", TestImages.Jpeg(480, 640))))
        {
            await chooser.SetFilesAsync(files.Paths);
            await Assertions.Expect(page.Locator("[data-testid=upload][data-state=done]")).ToHaveCountAsync(3, new() { Timeout = 120_000 });
        }

        var items = page.Locator("[data-testid=gallery-item]");
        await Assertions.Expect(items).ToHaveCountAsync(3);
        var ids = (await items.EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))")).Select(href => href.Split('/')[^1]).ToArray();

        // Open the first image: its name is focused, so a screen reader starts there.
        await TabUntilAsync(page, "[data-testid=gallery-item]");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync($"**/images/{ids[0]}");
        await Assertions.Expect(page.Locator("h1")).ToBeFocusedAsync();

        await page.Keyboard.PressAsync("ArrowRight");
        await page.WaitForURLAsync($"**/images/{ids[1]}");
        await page.Keyboard.PressAsync("ArrowRight");
        await page.WaitForURLAsync($"**/images/{ids[2]}");
        await page.Keyboard.PressAsync("ArrowRight"); // the last: stays
        await page.Keyboard.PressAsync("ArrowLeft");
        await page.WaitForURLAsync($"**/images/{ids[1]}");
        await Assertions.Expect(page.Locator("h1")).ToBeFocusedAsync();

        await page.Keyboard.PressAsync("Escape");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Your images" }).WaitForAsync();
        Assert.EndsWith("/", page.Url, StringComparison.Ordinal);

        // Delete the second image: Delete… asks, Escape takes it back, Delete… again, then Yes.
        await page.GotoAsync(new Uri(WebAppHostFixture.Site, $"images/{ids[1]}").ToString());
        await page.Locator("h1").WaitForAsync();
        await TabUntilAsync(page, "button.danger");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Delete…" })).ToBeFocusedAsync();
        Assert.Contains($"images/{ids[1]}", page.Url, StringComparison.Ordinal);
        await page.Keyboard.PressAsync("Enter");
        await page.Keyboard.PressAsync("Shift+Tab");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Yes, delete" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Your images" }).WaitForAsync();
        await Assertions.Expect(items).ToHaveCountAsync(2);
        Assert.DoesNotContain(ids[1], string.Join(" ", await items.EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))")), StringComparison.Ordinal);
    });

    [Fact]
    public Task Pasted_and_dropped_images_upload_refusals_say_why_and_outcomes_are_announced() => WithPageAsync(Desktop, async page =>
    {
        await Site.SignUpAsync(page);
        var announcement = page.Locator("[data-testid=upload-announcement]");
        Assert.Equal("status", await announcement.GetAttributeAsync("role"));

        // Paste (a screenshot copied to the clipboard arrives as a file named image.png).
        await DispatchFilesAsync(page, "paste", null, "image.png", "image/png", TestImages.Png(640, 480));
        await page.Locator("[data-testid=upload][data-state=done]").WaitForAsync();
        await Assertions.Expect(announcement).ToHaveTextAsync("image.png uploaded.");

        // Dragging files over the zone lights it; leaving puts it back; dropping uploads.
        var zone = page.Locator("[data-testid=drop-zone]");
        var idleBorder = await zone.EvaluateAsync<string>("z => getComputedStyle(z).borderStyle");
        await DispatchFilesAsync(page, "dragenter", "[data-testid=drop-zone]", "dropped.jpg", "image/jpeg", TestImages.Jpeg(640, 480));
        await Assertions.Expect(zone).ToHaveClassAsync(DraggingClass());
        Assert.NotEqual(idleBorder, await zone.EvaluateAsync<string>("z => getComputedStyle(z).borderStyle"));
        await page.ScreenshotAsync(new() { Path = Site.Screenshot("upload-drag-over.png") });
        await DispatchFilesAsync(page, "dragleave", "[data-testid=drop-zone]", "dropped.jpg", "image/jpeg", TestImages.Jpeg(640, 480));
        await Assertions.Expect(zone).Not.ToHaveClassAsync(DraggingClass());
        await DispatchFilesAsync(page, "dragenter", "[data-testid=drop-zone]", "dropped.jpg", "image/jpeg", TestImages.Jpeg(640, 480));
        await DispatchFilesAsync(page, "drop", "[data-testid=drop-zone]", "dropped.jpg", "image/jpeg", TestImages.Jpeg(640, 480));
        await Assertions.Expect(zone).Not.ToHaveClassAsync(DraggingClass());
        await Assertions.Expect(page.Locator("[data-testid=upload][data-state=done]")).ToHaveCountAsync(2);
        await Assertions.Expect(announcement).ToHaveTextAsync("dropped.jpg uploaded.");

        // Refused in the browser (type) and by the server (a JPEG cut short): each says why.
        using (var files = new TempImages(("notes.txt", "not an image"u8.ToArray())))
        {
            await page.Locator("[data-testid=file-input]").SetInputFilesAsync(files.Paths);
            var refusal = page.Locator("[data-testid=upload][data-state=failed] [data-testid=upload-message]").First;
            await Assertions.Expect(refusal).ToContainTextAsync("text/plain is not an image this app takes");
            await Assertions.Expect(announcement).ToContainTextAsync("notes.txt was not uploaded: text/plain");
        }

        using (var files = new TempImages(("cut.jpg", TestImages.Jpeg(1600, 1200)[..4000])))
        {
            await page.Locator("[data-testid=file-input]").SetInputFilesAsync(files.Paths);
            await Assertions.Expect(page.Locator("[data-testid=upload][data-state=failed]")).ToHaveCountAsync(2);
            var refusal = await page.Locator("[data-testid=upload][data-state=failed] [data-testid=upload-message]").First.InnerTextAsync();
            Assert.Matches(TruncatedOrCorrupt(), refusal);
            await Assertions.Expect(announcement).ToContainTextAsync("cut.jpg was not uploaded:");
        }

        await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToHaveCountAsync(2);
        await page.ScreenshotAsync(new() { Path = Site.Screenshot("upload-panel.png") });
    });

    [Fact]
    public Task Images_are_the_renditions_that_fit_the_screen_in_WebP_sized_before_they_load_and_lazy_below_the_fold() => WithPageAsync(Desktop, async page =>
    {
        await Site.SignUpAsync(page);
        for (var n = 0; n < 7; n++)
        {
            await UploadAsync(page, ($"photo-{n}.jpg", TestImages.Jpeg(1600, 1200)));
        }

        var gallery = page.Locator(".gallery img");
        await Assertions.Expect(gallery).ToHaveCountAsync(7);
        var images = JsonSerializer.Deserialize<PictureInfo[]>(await gallery.EvaluateAllAsync<string>(PictureInfoScript), JsonSerializerOptions.Web)!;
        Assert.All(images, i =>
        {
            Assert.Equal(2, i.WebP.Split(',').Length);
            Assert.Equal(2, i.Jpeg.Split(',').Length);
            Assert.True(i.Width > 0 && i.Height > 0, "width and height reserve the space");
        });
        Assert.Equal(["eager", "eager", "eager", "eager", "eager", "eager", "lazy"], images.Select(i => i.Loading));

        // A 1280 px screen at 1x: the cards are about 200 px wide, so the 200 px WebP thumbnail.
        await WaitForImagesAsync(page, ".gallery li:nth-child(-n+6) img");
        var shown = await gallery.First.EvaluateAsync<string>("i => i.currentSrc");
        Assert.Contains("/thumb.webp", shown, StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Site.Screenshot("gallery-full.png") });

        await gallery.First.ClickAsync();
        await WaitForImagesAsync(page, ".detail img");
        var detail = await page.Locator(".detail img").EvaluateAsync<string>("i => i.currentSrc");
        Assert.Contains("/medium.webp", detail, StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Site.Screenshot("detail.png") });

        // A phone at 2x: half of 360 px at twice the pixels is 360 pixels, so the gallery takes the medium rendition, as
        // does the detail (720 pixels); nothing scrolls sideways.
        await using var phone = await page.Context.Browser!.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 360, Height = 740 },
            DeviceScaleFactor = 2,
            StorageState = await page.Context.StorageStateAsync(),
        });
        var mobile = await phone.NewPageAsync();
        mobile.SetDefaultTimeout(60_000);
        await mobile.GotoAsync(WebAppHostFixture.Site.ToString());
        await mobile.EvaluateAsync("s => Object.entries(JSON.parse(s)).forEach(([k, v]) => sessionStorage.setItem(k, v))", await SessionStorageAsync(page));
        await mobile.ReloadAsync();
        await WaitForImagesAsync(mobile, ".gallery li:nth-child(-n+2) img");
        Assert.Contains("/medium.webp", await mobile.Locator(".gallery img").First.EvaluateAsync<string>("i => i.currentSrc"), StringComparison.Ordinal);
        Assert.True(await mobile.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the gallery scrolls sideways at 360 px");
        await mobile.ScreenshotAsync(new() { Path = Site.Screenshot("gallery-360.png") });
        await mobile.Locator("[data-testid=gallery-item]").First.ClickAsync();
        await WaitForImagesAsync(mobile, ".detail img");
        Assert.Contains("/medium.webp", await mobile.Locator(".detail img").EvaluateAsync<string>("i => i.currentSrc"), StringComparison.Ordinal);
        Assert.Contains("/large.webp 1600w", await mobile.Locator(".detail source").GetAttributeAsync("srcset"), StringComparison.Ordinal);
        Assert.True(await mobile.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the detail page scrolls sideways at 360 px");
        await mobile.ScreenshotAsync(new() { Path = Site.Screenshot("detail-360.png"), FullPage = true });

        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await page.GoBackAsync();
        await WaitForImagesAsync(page, ".gallery li:nth-child(-n+6) img");
        await page.ScreenshotAsync(new() { Path = Site.Screenshot("gallery-dark.png") });
    });

    private static readonly BrowserNewContextOptions Desktop = new() { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } };

    // The site's CSP forbids the injected axe-core script; everything else runs under the real CSP.
    private static readonly BrowserNewContextOptions DesktopForAxe = new() { ViewportSize = new ViewportSize { Width = 1280, Height = 900 }, BypassCSP = true };

    private const string PictureInfoScript = """
        images => JSON.stringify(images.map(i => ({
          webP: i.parentElement.querySelector('source[type="image/webp"]')?.getAttribute('srcset') ?? '',
          jpeg: i.getAttribute('srcset') ?? '',
          width: Number(i.getAttribute('width')),
          height: Number(i.getAttribute('height')),
          loading: i.getAttribute('loading'),
        })))
        """;

    private sealed record PictureInfo(string WebP, string Jpeg, int Width, int Height, string Loading);

    [GeneratedRegex("dragging")]
    private static partial Regex DraggingClass();

    [GeneratedRegex("truncated|corrupt", RegexOptions.IgnoreCase)]
    private static partial Regex TruncatedOrCorrupt();

    private async Task WithPageAsync(BrowserNewContextOptions options, Func<IPage, Task> steps, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", TestContext.Current.CancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        await using var context = await browser.NewContextAsync(options);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(WebAppHostFixture.Site.ToString());
        await page.GetByLabel("Email").WaitForAsync();
        try
        {
            await steps(page);
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException or Xunit.Sdk.XunitException)
        {
            await page.ScreenshotAsync(new() { Path = Site.Screenshot($"failure-{name}.png"), FullPage = true });
            throw;
        }
    }

    private static async Task UploadAsync(IPage page, (string Name, byte[] Data) file)
    {
        var done = await page.Locator("[data-testid=upload][data-state=done]").CountAsync();
        using var files = new TempImages(file);
        await page.Locator("[data-testid=file-input]").SetInputFilesAsync(files.Paths);
        await Assertions.Expect(page.Locator("[data-testid=upload][data-state=done]")).ToHaveCountAsync(done + 1, new() { Timeout = 60_000 });
    }

    private static async Task WaitForImagesAsync(IPage page, string selector) =>
        await page.WaitForFunctionAsync("s => { const all = [...document.querySelectorAll(s)]; return all.length > 0 && all.every(i => i.complete && i.naturalWidth > 0); }", selector);

    /// <summary>Presses Tab until the focused element matches <paramref name="selector"/> (at most 40 times).</summary>
    private static async Task TabUntilAsync(IPage page, string selector)
    {
        for (var presses = 0; presses < 40; presses++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<bool>("s => document.activeElement?.matches(s) ?? false", selector))
            {
                return;
            }
        }

        Assert.Fail($"Tab never reached {selector}");
    }

    /// <summary>Fires a paste (on the page) or drag event (on <paramref name="target"/>) carrying one file, as the browser would.</summary>
    private static async Task DispatchFilesAsync(IPage page, string type, string? target, string fileName, string contentType, byte[] data) =>
        await page.EvaluateAsync("""
            ([type, target, name, contentType, base64]) => {
              const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
              const transfer = new DataTransfer();
              transfer.items.add(new File([bytes], name, { type: contentType }));
              const init = { bubbles: true, cancelable: true };
              const event = type === 'paste'
                ? new ClipboardEvent('paste', { ...init, clipboardData: transfer })
                : new DragEvent(type, { ...init, dataTransfer: transfer });
              (target ? document.querySelector(target) : document.body).dispatchEvent(event);
            }
            """, new[] { type, target ?? string.Empty, fileName, contentType, Convert.ToBase64String(data) });

    private static Task<string> SessionStorageAsync(IPage page) => page.EvaluateAsync<string>("() => JSON.stringify({ ...sessionStorage })");

    /// <summary>Files written to the temporary folder for a file input, deleted afterwards.</summary>
    private sealed class TempImages : IDisposable
    {
        public TempImages(params (string Name, byte[] Data)[] files)
        {
            var folder = Directory.CreateTempSubdirectory("imageaspire-upload-").FullName;
            Paths = [.. files.Select(f => Path.Combine(folder, f.Name))];
            foreach (var (path, file) in Paths.Zip(files))
            {
                File.WriteAllBytes(path, file.Data);
            }
        }

        public string[] Paths { get; }

        public void Dispose() => Directory.Delete(Path.GetDirectoryName(Paths[0])!, recursive: true);
    }
}
