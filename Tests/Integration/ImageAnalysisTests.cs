using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>Every processed image is analysed by the (local) Rekognition, and its failures never fail an upload.</summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class ImageAnalysisTests(FaultAppHostFixture fixture)
{
    private static byte[] Photo(string name) => File.ReadAllBytes(Repository.PathOf("Tests", "Fixtures", "images", name));

    [Fact]
    public async Task An_uploaded_photo_comes_back_with_its_faces_and_labels()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);

        var upload = await ApiCalls.UploadAsync(client, Photo("astronaut.png"), "astronaut.png", "image/png", Timeout());

        Assert.Equal(HttpStatusCode.Created, upload.Status);
        var analysis = upload.Body!["analysis"]!;
        Assert.Equal("Done", (string?)analysis["status"]);
        var face = Assert.Single(analysis["faces"]!.AsArray())!;
        Assert.InRange((double)face["box"]!["left"]!, 0.2, 0.5);
        Assert.Contains("Person", analysis["labels"]!.AsArray().Select(l => (string?)l!["name"]));
        Assert.False((bool)analysis["sensitive"]!);
        Assert.Contains("local-", (string?)analysis["model"], StringComparison.Ordinal);

        // Stored with the item: the same analysis when the image is read again.
        var read = await client.GetStringAsync(new Uri($"/api/images/{upload.Id}", UriKind.Relative), Timeout());
        Assert.Equal(analysis.ToJsonString(), JsonNode.Parse(read)!["analysis"]!.ToJsonString());
    }

    [Fact]
    public async Task With_Rekognition_stopped_uploads_still_succeed_and_their_analysis_reads_failed()
    {
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        await fixture.App.ResourceCommands.ExecuteCommandAsync("rekognition", KnownResourceCommands.StopCommand, Timeout());
        await fixture.App.ResourceNotifications.WaitForResourceAsync("rekognition", KnownResourceStates.TerminalStates, Timeout());
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var upload = await ApiCalls.UploadAsync(client, Photo("coffee.png"), "coffee.png", "image/png", Timeout());

            Assert.Equal(HttpStatusCode.Created, upload.Status);
            Assert.Equal("Ready", upload.ImageStatus);
            Assert.Equal(6, upload.Body!["renditions"]!.AsArray().Count);
            Assert.Equal("Failed", (string?)upload.Body["analysis"]!["status"]);
            Assert.False(string.IsNullOrWhiteSpace((string?)upload.Body["analysis"]!["error"]));
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");
        }
        finally
        {
            await fixture.App.ResourceCommands.ExecuteCommandAsync("rekognition", KnownResourceCommands.StartCommand, Timeout());
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", WaitBehavior.WaitOnResourceUnavailable, Timeout());
        }

        var after = await ApiCalls.UploadAsync(client, Photo("coffee.png"), "coffee-again.png", "image/png", Timeout());
        Assert.Equal("Done", (string?)after.Body!["analysis"]!["status"]);
    }
}
