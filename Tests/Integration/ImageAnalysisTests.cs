using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// Every processed image is analysed by the (local) Rekognition, and its failures never fail an upload: they are
/// retried. The labels find the images; the faces frame the square thumbnails.
/// </summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class ImageAnalysisTests(FaultAppHostFixture fixture)
{
    private static byte[] Photo(string name) => File.ReadAllBytes(Repository.PathOf("Tests", "Fixtures", "images", name));

    private static async Task<JsonNode> GetImageAsync(HttpClient client, string id) =>
        JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout()))!;

    private static async Task<List<string>> IdsWithLabelAsync(HttpClient client, string label)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = JsonNode.Parse(await client.GetStringAsync(
                new Uri($"/api/images?label={Uri.EscapeDataString(label)}&limit=1" + (cursor is null ? string.Empty : $"&cursor={cursor}"), UriKind.Relative), Timeout()))!;
            ids.AddRange(page["items"]!.AsArray().Select(i => (string)i!["id"]!));
            cursor = (string?)page["nextCursor"];
        }
        while (cursor is not null);

        return ids;
    }

    [Fact]
    public async Task An_uploaded_photo_comes_back_with_its_faces_and_labels()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);

        var upload = await ApiCalls.UploadAsync(client, Photo("astronaut.png"), "astronaut.png", "image/png", Timeout());

        Assert.Equal(HttpStatusCode.Created, upload.Status);
        Assert.True((string?)upload.Body!["analysis"]!["status"] is "Done" or "Pending");
        var analysis = (await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout()))["analysis"]!;
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
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");
            var analysis = (await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout()))["analysis"]!;
            Assert.Equal("Failed", (string?)analysis["status"]);
            Assert.False(string.IsNullOrWhiteSpace((string?)analysis["error"]));
        }
        finally
        {
            await fixture.App.ResourceCommands.ExecuteCommandAsync("rekognition", KnownResourceCommands.StartCommand, Timeout());
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", WaitBehavior.WaitOnResourceUnavailable, Timeout());
        }

        var after = await ApiCalls.UploadAsync(client, Photo("coffee.png"), "coffee-again.png", "image/png", Timeout());
        Assert.Equal("Done", (string?)(await ApiCalls.AnalysedAsync(client, after.Id!, Timeout()))["analysis"]!["status"]);
    }

    [Fact]
    public async Task An_analysis_that_failed_is_retried_once_Rekognition_answers_again()
    {
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        string id;
        await fixture.App.ResourceCommands.ExecuteCommandAsync("rekognition", KnownResourceCommands.StopCommand, Timeout());
        await fixture.App.ResourceNotifications.WaitForResourceAsync("rekognition", KnownResourceStates.TerminalStates, Timeout());
        try
        {
            var upload = await ApiCalls.UploadAsync(client, Photo("coffee.png"), "coffee.png", "image/png", Timeout());
            id = upload.Id!;
            Assert.Equal("Failed", (string?)(await ApiCalls.AnalysedAsync(client, id, Timeout()))["analysis"]!["status"]);
            Assert.Empty(await IdsWithLabelAsync(client, "cup"));
        }
        finally
        {
            await fixture.App.ResourceCommands.ExecuteCommandAsync("rekognition", KnownResourceCommands.StartCommand, Timeout());
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", WaitBehavior.WaitOnResourceUnavailable, Timeout());
        }

        // The service's background round finds it due and tries again (the delay doubles after each failure).
        JsonNode analysis;
        var waited = Stopwatch.StartNew();
        do
        {
            await Task.Delay(500, Timeout());
            analysis = (await GetImageAsync(client, id))["analysis"]!;
        }
        while ((string?)analysis["status"] != "Done" && waited.Elapsed < TimeSpan.FromSeconds(90));

        Assert.Equal("Done", (string?)analysis["status"]);
        Assert.True((int)analysis["attempts"]! >= 2);
        Assert.Contains("Cup", analysis["labels"]!.AsArray().Select(l => (string?)l!["name"]));
        Assert.Equal([id], await IdsWithLabelAsync(client, "cup"));
    }

    [Fact]
    public async Task The_label_filter_finds_the_callers_images_by_label_and_parent_newest_first_and_nobody_elses()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        var other = await fixture.NewUserAsync(Timeout());
        using var otherClient = fixture.CreateServiceClient(other.AccessToken);

        var firstCup = await ApiCalls.UploadAsync(client, Photo("coffee.png"), "coffee-1.png", "image/png", Timeout());
        var astronaut = await ApiCalls.UploadAsync(client, Photo("astronaut.png"), "astronaut.png", "image/png", Timeout());
        var secondCup = await ApiCalls.UploadAsync(client, Photo("coffee.png"), "coffee-2.png", "image/png", Timeout());
        var theirCup = await ApiCalls.UploadAsync(otherClient, Photo("coffee.png"), "theirs.png", "image/png", Timeout());
        foreach (var (owner, upload) in new[] { (client, astronaut), (client, secondCup), (otherClient, theirCup) })
        {
            await ApiCalls.AnalysedAsync(owner, upload.Id!, Timeout());
        }

        var cupParent = (string)(await ApiCalls.AnalysedAsync(client, firstCup.Id!, Timeout()))["analysis"]!["labels"]!.AsArray().First(l => (string?)l!["name"] == "Cup")!["parents"]![0]!;

        Assert.Equal([secondCup.Id!, firstCup.Id!], await IdsWithLabelAsync(client, "CUP"));
        Assert.Equal([secondCup.Id!, firstCup.Id!], await IdsWithLabelAsync(client, cupParent.ToLowerInvariant()));
        Assert.Equal([astronaut.Id!], await IdsWithLabelAsync(client, "person"));
        Assert.Equal([theirCup.Id!], await IdsWithLabelAsync(otherClient, "cup"));
        Assert.Empty(await IdsWithLabelAsync(client, "giraffe"));

        var labels = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/images/labels", UriKind.Relative), Timeout()))!.AsArray();
        Assert.Equal(2, (int)labels.Single(l => (string?)l!["label"] == "Cup")!["images"]!);

        // Deleted: no longer found.
        using (var deleted = await client.DeleteAsync(new Uri($"/api/images/{secondCup.Id}", UriKind.Relative), Timeout()))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Equal([firstCup.Id!], await IdsWithLabelAsync(client, "cup"));

        using var bad = await client.GetAsync(new Uri("/api/images?label=%20", UriKind.Relative), Timeout());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_owner_can_have_an_image_analysed_again_and_only_their_own()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        var other = await fixture.NewUserAsync(Timeout());
        using var otherClient = fixture.CreateServiceClient(other.AccessToken);
        var upload = await ApiCalls.UploadAsync(client, Photo("astronaut.png"), "astronaut.png", "image/png", Timeout());
        await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout());

        using var again = await client.PostAsync(new Uri($"/api/images/{upload.Id}/analysis", UriKind.Relative), null, Timeout());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var analysis = JsonNode.Parse(await again.Content.ReadAsStringAsync(Timeout()))!["analysis"]!;
        Assert.Equal(("Done", 2), ((string?)analysis["status"], (int)analysis["attempts"]!));
        Assert.Single(analysis["faces"]!.AsArray());

        using var notTheirs = await otherClient.PostAsync(new Uri($"/api/images/{upload.Id}/analysis", UriKind.Relative), null, Timeout());
        Assert.Equal(HttpStatusCode.NotFound, notTheirs.StatusCode);
    }

    [Fact]
    public async Task A_wide_photo_with_a_person_at_one_edge_keeps_the_person_in_its_square_thumbnail()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        using var wide = WidePhotoWithAFaceAtTheRightEdge();

        var upload = await ApiCalls.UploadAsync(client, wide.JpegsaveBuffer(q: 90), "wide.jpg", "image/jpeg", Timeout());

        var face = Assert.Single((await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout()))["analysis"]!["faces"]!.AsArray())!["box"]!;
        Assert.True((double)face["left"]! > 2.0 / 3, "the face is in the right third of the photo");
        var thumbBytes = await ThumbAsync(upload.Body!);
        using var thumb = NetVips.Image.NewFromBuffer(thumbBytes);

        // Her face is in the thumbnail; in the centre crop, which the thumbnail used to be, there is none.
        Assert.Equal((200, 200), (thumb.Width, thumb.Height));
        Assert.Single(await LocalRekognitionCalls.FacesAsync(fixture, thumbBytes));
        using var centre = wide.ThumbnailImage(200, height: 200, crop: NetVips.Enums.Interesting.Centre);
        Assert.Empty(await LocalRekognitionCalls.FacesAsync(fixture, centre.JpegsaveBuffer()));
    }

    [Fact]
    public async Task Faces_found_after_the_thumbnail_was_cut_make_it_again_around_them()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        using var client = (await fixture.NewUserClientAsync(Timeout())).Client;
        using var wide = WidePhotoWithAFaceAtTheRightEdge();
        // DetectFaces answers long after the face wait: the upload is answered with a thumbnail cut without faces (by
        // libvips' attention crop, which here finds her too).
        fixture.RekognitionProxy.Inject(r => r.Operation == "DetectFaces", ProxyFault.DelayThenForward);
        try
        {
            var upload = await ApiCalls.UploadAsync(client, wide.JpegsaveBuffer(q: 90), "wide.jpg", "image/jpeg", Timeout());
            Assert.Equal(HttpStatusCode.Created, upload.Status);
            Assert.Equal("Pending", (string?)upload.Body!["analysis"]!["status"]);

            // Once the analysis is stored, the image names renditions made again around her face, at new addresses.
            var image = await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout());
            Assert.Single(image["analysis"]!["faces"]!.AsArray());
            Assert.NotEqual(Url(upload.Body, "thumb"), Url(image, "thumb"));
            Assert.Single(await LocalRekognitionCalls.FacesAsync(fixture, await ThumbAsync(image)));
            Assert.Equal(6, image["renditions"]!.AsArray().Count);
        }
        finally
        {
            fixture.RekognitionProxy.Clear();
        }
    }

    /// <summary>The astronaut's portrait at the right edge of a canvas three times as wide: a centre crop would show only sky.</summary>
    private static NetVips.Image WidePhotoWithAFaceAtTheRightEdge()
    {
        using var portrait = NetVips.Image.NewFromBuffer(Photo("astronaut.png"));
        using var canvas = (NetVips.Image.Black(portrait.Width * 3, portrait.Height, bands: 3) + new double[] { 120, 150, 190 }).Cast(NetVips.Enums.BandFormat.Uchar);
        return canvas.Insert(portrait.ExtractBand(0, n: 3), portrait.Width * 2, 0);
    }

    private static string Url(JsonNode image, string rendition) =>
        (string)image["renditions"]!.AsArray().First(r => (string?)r!["name"] == rendition && (string?)r["format"] == "jpeg")!["url"]!;

    private Task<byte[]> ThumbAsync(JsonNode image) => fixture.ReadRenditionAsync("renditions/" + Url(image, "thumb")["/media/".Length..], Timeout());
}
