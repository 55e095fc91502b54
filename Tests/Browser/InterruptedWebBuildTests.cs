using System.Net;
using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;
using Microsoft.Playwright;

namespace ImageAspire.Tests.Browser;

/// <summary>A second AppHost with the web app, on ports of its own, started after the test broke the build's files.</summary>
public sealed class SecondWebAppHost : AppHostFixture
{
    protected override string[] Arguments => [];
}

/// <summary>
/// Stopping the AppHost while the web app was being published used to leave empty precompressed files that every later
/// build kept and the edge served (<c>Content-Encoding: br</c>, 0 bytes): the page stayed at "Loading…" for good.
/// In the web collection: it rewrites the published app the collection's edge serves, so nothing may run beside it.
/// </summary>
[Collection(WebAppHostGroup.Name)]
public sealed class InterruptedWebBuildTests(WebAppHostFixture fixture)
{
    [Fact]
    public async Task A_start_after_an_interrupted_web_build_heals_it_and_the_app_boots_in_chromium()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", cancellationToken);

        // What an interrupted publish leaves: no completion mark, and empty compressed files in obj and in the output.
        var output = Path.Combine(Repository.Root, "artifacts", "web-local");
        File.Delete(Path.Combine(output, ".publish-complete"));
        var emptied = 0;
        foreach (var folder in new[] { Path.Combine(Repository.Root, "Web", "obj", "Release"), output })
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.br", SearchOption.AllDirectories))
            {
                await File.WriteAllBytesAsync(file, [], cancellationToken);
                emptied++;
            }
        }

        Assert.True(emptied > 20, $"only {emptied} compressed files");

        await using var second = new SecondWebAppHost();
        await second.InitializeAsync();
        await second.App.ResourceNotifications.WaitForResourceHealthyAsync("edge", cancellationToken);
        var site = second.App.GetEndpoint("edge", "http");

        // The build made its compressed files again, and the runtime goes out brotli-compressed and whole.
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None });
        // The runtime's name carries its content fingerprint (dotnet.native.<fingerprint>.wasm).
        var runtime = Path.GetFileName(Assert.Single(Directory.GetFiles(Path.Combine(output, "wwwroot", "_framework"), "dotnet.native.*.wasm")));
        var wasm = new Uri(site, $"_framework/{runtime}");
        using (var request = new HttpRequestMessage(HttpMethod.Get, wasm))
        {
            request.Headers.AcceptEncoding.ParseAdd("br");
            using var response = await http.SendAsync(request, cancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("br", Assert.Single(response.Content.Headers.ContentEncoding));
            Assert.True(response.Content.Headers.ContentLength > 100_000, $"{response.Content.Headers.ContentLength} bytes");
        }

        using var playwright = await Playwright.CreateAsync();
        await using (var browser = await Chromium.LaunchAsync(playwright))
        {
            var page = await browser.NewPageAsync();
            await page.GotoAsync(site.ToString());
            await page.WaitForURLAsync("**/signin", new() { Timeout = 60_000 });
            await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Sign up" })).ToBeVisibleAsync();
        }

        // Should an empty variant appear anyway, the edge serves the file itself and says so in its log.
        var served = Path.Combine(output, "wwwroot", "_framework", runtime);
        await File.WriteAllBytesAsync(served + ".br", [], cancellationToken);
        using (var request = new HttpRequestMessage(HttpMethod.Get, wasm))
        {
            request.Headers.AcceptEncoding.ParseAdd("br");
            using var response = await http.SendAsync(request, cancellationToken);
            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.Equal(new FileInfo(served).Length, response.Content.Headers.ContentLength);
            Assert.Equal(await File.ReadAllBytesAsync(served, cancellationToken), await response.Content.ReadAsByteArrayAsync(cancellationToken));
        }

        // Leave the collection's edge a whole build: the next start sees no mark and rebuilds.
        File.Delete(Path.Combine(output, ".publish-complete"));
    }
}
