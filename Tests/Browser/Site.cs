using ImageAspire.Tests.Support;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>Steps and checks the browser tests share: signing up, screenshots, axe-core.</summary>
public static class Site
{
    private static readonly string AxeScript = Repository.PathOf("Tests", "Browser", "axe", "node_modules", "axe-core", "axe.min.js");

    /// <summary>From the sign-in page: signs up a new user (cognito-local takes any confirmation code) and waits for the gallery.</summary>
    public static async Task SignUpAsync(IPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign up" }).ClickAsync();
        var email = $"browser-{Guid.NewGuid():N}@example.com";
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync("Browser-pass1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).ClickAsync();
        await page.GetByLabel("Confirmation code").FillAsync("123456");
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm and sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Your images" }).WaitForAsync();
    }

    /// <summary>A path in the test output's TestResults folder.</summary>
    public static string Screenshot(string name)
    {
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults"));
        return Path.Combine(AppContext.BaseDirectory, "TestResults", name);
    }

    /// <summary>
    /// Runs axe-core on the page as it is and fails on any serious or critical violation. The page's CSP forbids
    /// the injected script, so the browser context must be created with <c>BypassCSP</c>.
    /// </summary>
    public static async Task AssertAccessibleAsync(IPage page, string where)
    {
        ArgumentNullException.ThrowIfNull(page);
        Assert.True(File.Exists(AxeScript), $"{AxeScript} is missing: run node Infra/Local/emulators/install-once.js Tests/Browser/axe");
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe === 'object'"))
        {
            await page.AddScriptTagAsync(new() { Path = AxeScript });
        }

        var found = await page.EvaluateAsync<string>("""
            async () => {
              const result = await axe.run(document, { resultTypes: ['violations'] });
              return JSON.stringify(result.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({ rule: v.id, impact: v.impact, help: v.help, where: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })));
            }
            """);
        Assert.True(found == "[]", $"axe-core on {where}: {found}");
    }
}
