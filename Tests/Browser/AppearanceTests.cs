using ImageAspire.Tests.Support;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>The app in the system's dark mode and on a phone-sized screen; screenshots land in TestResults.</summary>
[Collection(WebAppHostGroup.Name)]
public sealed class AppearanceTests(WebAppHostFixture fixture)
{
    [Fact]
    public Task The_app_follows_a_dark_system_theme() => WithPageAsync(new BrowserNewContextOptions { ColorScheme = ColorScheme.Dark, ViewportSize = new ViewportSize { Width = 1280, Height = 800 } }, async page =>
    {
        var (background, text) = await ColorsAsync(page);
        Assert.True(Luminance(background) < 0.05, $"background {background}");
        Assert.True(Contrast(text, background) >= 4.5, $"text {text} on {background}");
        await page.ScreenshotAsync(new() { Path = Site.Screenshot("signin-dark.png") });

        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });
        var (lightBackground, lightText) = await ColorsAsync(page);
        Assert.True(Luminance(lightBackground) > 0.8, $"background {lightBackground}");
        Assert.True(Contrast(lightText, lightBackground) >= 4.5, $"text {lightText} on {lightBackground}");
    });

    [Theory]
    [InlineData(360, 740)]
    [InlineData(1440, 900)]
    public Task The_sign_in_and_sign_up_pages_fit_the_screen_without_sideways_scrolling(int width, int height) =>
        WithPageAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } }, async page =>
    {
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the sign-in page scrolls sideways");
        await page.ScreenshotAsync(new() { Path = Site.Screenshot($"signin-{width}.png") });
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign up" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).WaitForAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the sign-up page scrolls sideways");
    });

    private async Task WithPageAsync(BrowserNewContextOptions options, Func<IPage, Task> steps)
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", TestContext.Current.CancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var context = await browser.NewContextAsync(options);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(WebAppHostFixture.Site.ToString());
        await page.GetByLabel("Email").WaitForAsync();
        await steps(page);
    }

    private static async Task<(double[] Background, double[] Text)> ColorsAsync(IPage page)
    {
        var colors = await page.EvaluateAsync<string[]>("() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }");
        return (Rgb(colors[0]), Rgb(colors[1]));
    }

    private static double[] Rgb(string css) =>
        [.. css[(css.IndexOf('(', StringComparison.Ordinal) + 1)..css.IndexOf(')', StringComparison.Ordinal)].Split(',').Take(3).Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture) / 255)];

    // WCAG 2 relative luminance and contrast ratio.
    private static double Luminance(double[] rgb) =>
        rgb.Select(c => c <= 0.03928 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4)).Zip([0.2126, 0.7152, 0.0722], (c, w) => c * w).Sum();

    private static double Contrast(double[] a, double[] b) =>
        (Math.Max(Luminance(a), Luminance(b)) + 0.05) / (Math.Min(Luminance(a), Luminance(b)) + 0.05);
}
