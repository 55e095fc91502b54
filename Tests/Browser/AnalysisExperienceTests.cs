using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ImageAspire.AppHost;
using ImageAspire.Tests.Support;
using Microsoft.Playwright;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Browser;

/// <summary>What image analysis shows in the app: sensitive images blurred until shown, label chips and the label filter, by keyboard and axe-clean.</summary>
public sealed partial class WebExperienceTests
{
    private static byte[] Photo(string name) => File.ReadAllBytes(Repository.PathOf("Tests", "Fixtures", "images", name));

    [Fact]
    public async Task Sensitive_images_stay_blurred_until_shown_and_labels_filter_the_gallery_by_keyboard()
    {
        // An admin lowers the moderation threshold to 0 in the settings document: every moderation label nsfwjs
        // gives, however unlikely, then counts, so these harmless photos are marked sensitive for real.
        var admin = await fixture.Cognito.SignInAsync(fixture.ClientId, LocalUsers.Admin.Email, LocalUsers.Admin.Password, Timeout());
        using var adminClient = fixture.CreateServiceClient(admin.AccessToken);
        var original = JsonNode.Parse(await adminClient.GetStringAsync(new Uri("/api/settings", UriKind.Relative), Timeout()))!.AsObject();
        var strict = original.DeepClone().AsObject();
        strict["analysis"] = new JsonObject { ["enabled"] = true, ["labelMinConfidence"] = 55, ["moderationMinConfidence"] = 0 };
        Assert.Equal(HttpStatusCode.OK, (await adminClient.PutAsJsonAsync("/api/settings", strict, Timeout())).StatusCode);
        try
        {
            await WithPageAsync(DesktopForAxe, async page =>
            {
                await Site.SignUpAsync(page);
                // The coffee's moderation held past its upload's answer: the gallery shows it before its analysis ends,
                // and blurs it once it has (the page reads pending images again), without a reload.
                fixture.RekognitionProxy.Inject(r => r.Operation == "DetectModerationLabels", ProxyFault.DelayThenForward);
                await UploadAsync(page, ("coffee.png", Photo("coffee.png")));
                await UploadAsync(page, ("astronaut.png", Photo("astronaut.png")));
                await WaitForImagesAsync(page, ".gallery img");
                Assert.Contains(fixture.RekognitionProxy.Faulted, f => f.Request.Operation == "DetectModerationLabels");

                // Blurred in the gallery, with a button beside each link that says what it shows.
                await Assertions.Expect(page.Locator(".gallery li.sensitive")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
                Assert.Contains("blur", await page.Locator(".gallery li.sensitive img").First.EvaluateAsync<string>("i => getComputedStyle(i).filter"), StringComparison.Ordinal);
                Assert.Contains("hidden: may be sensitive", await page.Locator(".gallery li.sensitive img").First.GetAttributeAsync("alt"), StringComparison.Ordinal);
                await Site.AssertAccessibleAsync(page, "the gallery with sensitive images hidden and the label filter");

                // Shown by keyboard, and announced.
                await TabUntilAsync(page, "button[data-testid=reveal][aria-label^='Show coffee.png']");
                await page.Keyboard.PressAsync("Enter");
                await Assertions.Expect(page.Locator(".gallery li.sensitive")).ToHaveCountAsync(1);
                await Assertions.Expect(page.Locator("[data-testid=gallery-status]")).ToHaveTextAsync("coffee.png is shown.");
                Assert.Equal("none", await page.Locator(".gallery li:not(.sensitive) img").First.EvaluateAsync<string>("i => getComputedStyle(i).filter"));

                // The label filter is a select the keyboard reaches; choosing a label filters and says how many.
                await TabUntilAsync(page, "[data-testid=label-filter]");
                var options = await page.Locator("[data-testid=label-filter] option").AllTextContentsAsync();
                Assert.Contains(options, o => o.StartsWith("Person", StringComparison.Ordinal));
                await page.Locator("[data-testid=label-filter]").SelectOptionAsync(new SelectOptionValue { Value = "Cup" });
                await page.WaitForURLAsync("**/?label=Cup");
                await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToHaveCountAsync(1);
                await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToContainTextAsync("coffee.png");
                await Assertions.Expect(page.Locator("[data-testid=gallery-status]")).ToHaveTextAsync("1 image labelled Cup.");

                // The detail page: blurred until shown, labels as chips that lead back to the filtered gallery.
                await page.GotoAsync(WebAppHostFixture.Site.ToString());
                await page.Locator("[data-testid=gallery-item]", new() { HasText = "astronaut.png" }).ClickAsync();
                await WaitForImagesAsync(page, ".detail img");
                Assert.Contains("blur", await page.Locator(".detail img").EvaluateAsync<string>("i => getComputedStyle(i).filter"), StringComparison.Ordinal);
                await Site.AssertAccessibleAsync(page, "the detail page of a sensitive image, with its labels");
                await TabUntilAsync(page, "button[data-testid=reveal]");
                await page.Keyboard.PressAsync("Enter");
                await Assertions.Expect(page.Locator(".detail .sensitive")).ToHaveCountAsync(0);
                await Assertions.Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "The image is shown." })).ToHaveCountAsync(1);

                await TabUntilAsync(page, "[data-testid=labels] a[aria-label^='Person,']");
                await page.Keyboard.PressAsync("Enter");
                await page.WaitForURLAsync("**/?label=Person");
                await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToHaveCountAsync(1);
                await Assertions.Expect(page.Locator("[data-testid=gallery-item]")).ToContainTextAsync("astronaut.png");
            });
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await adminClient.PutAsJsonAsync("/api/settings", original, Timeout())).StatusCode);
        }
    }
}
