using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ImageAspire.AppHost;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>The core API through the real AppHost with ImageService as a plain web app.</summary>
[Collection(AppHostGroup.Name)]
public sealed class ImagesApiWebTests(AppHostFixture fixture) : ImagesApiTests(fixture);

/// <summary>The same tests with ImageService as a Lambda function behind the local HTTP API and its JWT authorizer.</summary>
[Collection(LambdaAppHostGroup.Name)]
public sealed class ImagesApiLambdaTests(LambdaAppHostFixture fixture) : ImagesApiTests(fixture);

/// <summary>The same tests against the published Native AOT bootstrap, as it deploys, behind the local HTTP API.</summary>
[Collection(AotLambdaAppHostGroup.Name)]
public sealed class ImagesApiAotLambdaTests(AotLambdaAppHostFixture fixture) : ImagesApiTests(fixture);

public abstract class ImagesApiTests(AppHostFixture fixture)
{

    [Theory]
    [InlineData("jpeg")]
    [InlineData("png")]
    [InlineData("webp")]
    public async Task An_uploaded_image_is_stored_with_its_renditions(string kind)
    {
        var (bytes, contentType) = kind switch
        {
            "jpeg" => (TestImages.Jpeg(2400, 1600), "image/jpeg"),
            "png" => (TestImages.Png(1200, 900, transparent: true), "image/png"),
            _ => (TestImages.WebP(1000, 1000), "image/webp"),
        };
        using var client = await SignedInClientAsync();

        using var response = await UploadAsync(client, ("file", bytes, $"photo.{kind}", contentType));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var image = (await response.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!;
        var id = (string)image["id"]!;
        Assert.Equal($"/api/images/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Ready", (string?)image["status"]);
        Assert.Equal(contentType, (string?)image["contentType"]);
        Assert.Equal(bytes.Length, (long)image["bytes"]!);
        var renditions = ((JsonArray)image["renditions"]!).Select(r => r!).ToList();
        Assert.Equal(6, renditions.Count);
        Assert.Equal(["large.jpeg", "large.webp", "medium.jpeg", "medium.webp", "thumb.jpeg", "thumb.webp"],
            renditions.Select(r => $"{r["name"]}.{r["format"]}").Order());

        var sub = await SubAsync(client);
        foreach (var rendition in renditions)
        {
            var url = (string)rendition["url"]!;
            // An opaque media key stands for the owner: no sub in the URL.
            Assert.StartsWith($"/media/{fixture.MediaPaths.Encode(sub)}/{id}/", url, StringComparison.Ordinal);
            Assert.DoesNotContain(sub, url, StringComparison.Ordinal);
            var key = "renditions/" + url["/media/".Length..];
            using var stored = await fixture.S3.GetObjectAsync(fixture.Environment["RenditionsBucketName"], key, Timeout(60));
            Assert.Equal((long)rendition["bytes"]!, stored.ContentLength);
            Assert.Equal(ImageAspire.ImageService.Images.ImageProcessor.RenditionCacheControl, stored.Headers.CacheControl);
            Assert.Equal("public, max-age=86400, immutable", stored.Headers.CacheControl);
        }

        var original = await fixture.S3.GetObjectMetadataAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/{id}.{(kind == "jpeg" ? "jpg" : kind)}", Timeout(60));
        Assert.Equal(bytes.Length, original.ContentLength);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), original.Metadata["sha256"]);

        var fetched = await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout(60));
        Assert.Equal(id, (string?)fetched!["id"]);
    }

    /// <summary>In web mode, in Lambda mode and in the published Native AOT bootstrap alike.</summary>
    [Fact]
    public async Task An_uploaded_photo_is_analysed_and_found_by_its_label()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout(120));
        using var client = await SignedInClientAsync();
        var photo = await File.ReadAllBytesAsync(Repository.PathOf("Tests", "Fixtures", "images", "astronaut.png"), Timeout(60));

        var upload = await ApiCalls.UploadAsync(client, photo, "astronaut.png", "image/png", Timeout(120));

        Assert.Equal(HttpStatusCode.Created, upload.Status);
        // Answered before the analysis if it outlasted the storage (in Lambda it is stored before the next invocation).
        var analysis = (await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout(120)))["analysis"]!;
        Assert.Equal("Done", (string?)analysis["status"]);
        Assert.Single(analysis["faces"]!.AsArray());
        var found = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/images?label=person", UriKind.Relative), Timeout(60)))!;
        Assert.Equal(upload.Id, (string?)Assert.Single(found["items"]!.AsArray())!["id"]);
    }

    [Fact]
    public async Task Several_files_in_one_request_become_several_images()
    {
        using var client = await SignedInClientAsync();

        using var response = await UploadAsync(client,
            ("file", TestImages.Jpeg(640, 480), "a.jpg", "image/jpeg"),
            ("file", TestImages.Png(300, 300), "b.png", "image/png"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var images = (await response.Content.ReadFromJsonAsync<JsonArray>(Timeout(60)))!;
        Assert.Equal(["a.jpg", "b.png"], images.Select(i => (string?)i!["fileName"]));
    }

    [Fact]
    public async Task A_bad_file_among_several_stores_none_of_them()
    {
        using var client = await SignedInClientAsync();

        using var response = await UploadAsync(client,
            ("file", TestImages.Jpeg(640, 480), "good.jpg", "image/jpeg"),
            ("file", TestImages.HeicHeader(), "bad.heic", "image/heic"));

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "HEIC");
        var list = await client.GetFromJsonAsync<JsonObject>("/api/images", Timeout(60));
        Assert.Empty((JsonArray)list!["items"]!);
    }

    [Fact]
    public async Task Listing_pages_through_the_callers_images_newest_first()
    {
        using var client = await SignedInClientAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await UploadAsync(client, ("file", TestImages.Jpeg(320 + i, 240), $"{i}.jpg", "image/jpeg"));
            ids.Add((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!["id"]!);
        }

        var first = (await client.GetFromJsonAsync<JsonObject>("/api/images?limit=2", Timeout(60)))!;
        var cursor = (string?)first["nextCursor"];
        Assert.NotNull(cursor);
        var second = (await client.GetFromJsonAsync<JsonObject>($"/api/images?limit=2&cursor={Uri.EscapeDataString(cursor)}", Timeout(60)))!;

        var listed = ((JsonArray)first["items"]!).Concat((JsonArray)second["items"]!).Select(i => (string)i!["id"]!).ToList();
        Assert.Equal(Enumerable.Reverse(ids), listed);
        Assert.Null((string?)second["nextCursor"]);

        await AssertProblemAsync(await client.GetAsync(new Uri("/api/images?cursor=garbage", UriKind.Relative), Timeout(60)), HttpStatusCode.BadRequest, "cursor");
        await AssertProblemAsync(await client.GetAsync(new Uri("/api/images?limit=0", UriKind.Relative), Timeout(60)), HttpStatusCode.BadRequest, "limit");
    }

    [Fact]
    public async Task Deleting_removes_the_original_the_renditions_and_the_item()
    {
        using var client = await SignedInClientAsync();
        using var upload = await UploadAsync(client, ("file", TestImages.Jpeg(900, 600), "gone.jpg", "image/jpeg"));
        var image = (await upload.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!;
        var id = (string)image["id"]!;
        var sub = await SubAsync(client);

        using var deleted = await client.DeleteAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout(60));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout(60))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout(60))).StatusCode);
        var originals = await fixture.S3.ListObjectsV2Async(new() { BucketName = fixture.Environment["OriginalsBucketName"], Prefix = $"originals/{sub}/{id}" }, Timeout(60));
        var renditions = await fixture.S3.ListObjectsV2Async(new() { BucketName = fixture.Environment["RenditionsBucketName"], Prefix = $"{fixture.RenditionsPrefixOf(sub)}{id}/" }, Timeout(60));
        Assert.Empty(originals.S3Objects ?? []);
        Assert.Empty(renditions.S3Objects ?? []);
    }

    [Fact]
    public async Task Another_user_cannot_see_list_or_delete_an_image()
    {
        using var owner = await SignedInClientAsync();
        using var upload = await UploadAsync(owner, ("file", TestImages.Jpeg(500, 400), "mine.jpg", "image/jpeg"));
        var id = (string)(await upload.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!["id"]!;
        using var stranger = await SignedInClientAsync();

        using var get = await stranger.GetAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout(60));
        using var missing = await stranger.GetAsync(new Uri($"/api/images/{ImageAspire.ImageService.Storage.ImageId.New()}", UriKind.Relative), Timeout(60));
        using var delete = await stranger.DeleteAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout(60));
        using var complete = await stranger.PostAsync(new Uri($"/api/uploads/{id}/complete", UriKind.Relative), null, Timeout(60));
        var list = await stranger.GetFromJsonAsync<JsonObject>("/api/images", Timeout(60));

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, complete.StatusCode);
        Assert.Equal(
            (await missing.Content.ReadAsStringAsync(Timeout(60))).Replace(missing.RequestMessage!.RequestUri!.Segments[^1], "ID", StringComparison.Ordinal),
            (await get.Content.ReadAsStringAsync(Timeout(60))).Replace(id, "ID", StringComparison.Ordinal));
        Assert.Empty((JsonArray)list!["items"]!);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(new Uri($"/api/images/{id}", UriKind.Relative), Timeout(60))).StatusCode);
    }

    [Fact]
    public async Task Bad_inputs_get_clear_4xx_problems()
    {
        using var client = await SignedInClientAsync();
        var jpeg = TestImages.Jpeg(800, 600);

        await AssertProblemAsync(await UploadAsync(client, ("file", [], "empty.jpg", "image/jpeg")), HttpStatusCode.BadRequest, "empty");
        await AssertProblemAsync(await UploadAsync(client, ("file", new byte[(10 * 1024 * 1024) + 1], "big.jpg", "image/jpeg")), HttpStatusCode.RequestEntityTooLarge, "limit");
        await AssertProblemAsync(await UploadAsync(client, ("file", TestImages.HeicHeader(), "iphone.heic", "image/heic")), HttpStatusCode.UnsupportedMediaType, "JPEG");
        await AssertProblemAsync(await UploadAsync(client, ("file", "<svg xmlns='http://www.w3.org/2000/svg'/>"u8.ToArray(), "x.png", "image/png")), HttpStatusCode.UnsupportedMediaType, "SVG");
        await AssertProblemAsync(await UploadAsync(client, ("file", jpeg[..(jpeg.Length / 2)], "cut.jpg", "image/jpeg")), HttpStatusCode.UnprocessableEntity, "corrupt");
        await AssertProblemAsync(await UploadAsync(client, ("file", TestImages.PngHeaderOnly(100_000, 100_000), "bomb.png", "image/png")), HttpStatusCode.UnprocessableEntity, "100000×100000");
        await AssertProblemAsync(await UploadAsync(client, ("other", jpeg, "a.jpg", "image/jpeg")), HttpStatusCode.BadRequest, "file");

        using var plain = new ByteArrayContent(jpeg);
        plain.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        await AssertProblemAsync(await client.PostAsync(new Uri("/api/images", UriKind.Relative), plain, Timeout(60)), HttpStatusCode.UnsupportedMediaType, "multipart");

        using var noBoundary = new ByteArrayContent(jpeg);
        noBoundary.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");
        await AssertProblemAsync(await client.PostAsync(new Uri("/api/images", UriKind.Relative), noBoundary, Timeout(60)), HttpStatusCode.BadRequest, null);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/health", UriKind.Relative), Timeout(60))).StatusCode);
    }

    [Fact]
    public async Task A_presigned_upload_is_processed_from_the_local_s3_event()
    {
        using var client = await SignedInClientAsync();
        var bytes = TestImages.Jpeg(3000, 2000);

        var ticket = await CreateUploadAsync(client, "big.jpg", "image/jpeg", bytes.Length);
        var id = (string)ticket["id"]!;
        Assert.Equal(HttpStatusCode.OK, await TicketPuts.PutAsync(ticket, bytes, Timeout(60)));

        var image = await WaitForStatusAsync(client, id, "Ready");
        Assert.Equal(6, ((JsonArray)image["renditions"]!).Count);
        Assert.Equal(3000, (int)image["width"]!);

        // complete after the event changes nothing: same image, same renditions.
        using var complete = await client.PostAsync(new Uri($"/api/uploads/{id}/complete", UriKind.Relative), null, Timeout(60));
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        var completed = (await complete.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!;
        Assert.Equal(image.ToJsonString(), completed.ToJsonString());
    }

    [Fact]
    public async Task Presigned_upload_requests_are_validated()
    {
        using var client = await SignedInClientAsync();

        await AssertProblemAsync(await client.PostAsJsonAsync("/api/uploads", new { fileName = "a.heic", contentType = "image/heic", size = 1000 }, Timeout(60)), HttpStatusCode.UnsupportedMediaType, "JPEG");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/uploads", new { fileName = "a.jpg", contentType = "image/jpeg", size = (50L * 1024 * 1024) + 1 }, Timeout(60)), HttpStatusCode.RequestEntityTooLarge, "limit");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/uploads", new { fileName = "a.jpg", contentType = "image/jpeg", size = 0 }, Timeout(60)), HttpStatusCode.BadRequest, null);

        var ticket = await CreateUploadAsync(client, "later.jpg", "image/jpeg", 1234);
        await AssertProblemAsync(await client.PostAsync(new Uri($"/api/uploads/{ticket["id"]}/complete", UriKind.Relative), null, Timeout(60)), HttpStatusCode.Conflict, "upload");
        var pending = await client.GetFromJsonAsync<JsonObject>($"/api/images/{ticket["id"]}", Timeout(60));
        Assert.Equal("Pending", (string?)pending!["status"]);
    }

    [Fact]
    public async Task Only_admins_change_settings_and_the_next_upload_follows_them()
    {
        using var user = await SignedInClientAsync();
        var admin = await fixture.Cognito.SignInAsync(fixture.ClientId, LocalUsers.Admin.Email, LocalUsers.Admin.Password, Timeout(60));
        using var adminClient = fixture.CreateServiceClient(admin.AccessToken);
        var original = (await user.GetFromJsonAsync<JsonObject>("/api/settings", Timeout(60)))!;
        var changed = JsonNode.Parse(original.ToJsonString())!.AsObject();
        changed["renditions"] = new JsonArray(new JsonObject { ["name"] = "tiny", ["width"] = 64, ["height"] = 64, ["mode"] = "cover", ["watermark"] = false });
        changed["formats"] = new JsonArray(new JsonObject { ["format"] = "webp", ["quality"] = 70 });

        Assert.Equal(HttpStatusCode.Forbidden, (await user.PutAsJsonAsync("/api/settings", changed, Timeout(60))).StatusCode);
        var invalid = JsonNode.Parse(changed.ToJsonString())!.AsObject();
        invalid["renditions"]![0]!["width"] = 0;
        await AssertProblemAsync(await adminClient.PutAsJsonAsync("/api/settings", invalid, Timeout(60)), HttpStatusCode.BadRequest, "16 and 4096");

        try
        {
            Assert.Equal(HttpStatusCode.OK, (await adminClient.PutAsJsonAsync("/api/settings", changed, Timeout(60))).StatusCode);
            using var upload = await UploadAsync(user, ("file", TestImages.Jpeg(800, 600), "after.jpg", "image/jpeg"));
            var image = (await upload.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!;
            var rendition = Assert.Single((JsonArray)image["renditions"]!)!;
            Assert.Equal("tiny.webp", $"{rendition["name"]}.{rendition["format"]}");
            Assert.Equal(64, (int)rendition["width"]!);
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await adminClient.PutAsJsonAsync("/api/settings", original, Timeout(60))).StatusCode);
        }
    }

    private async Task<HttpClient> SignedInClientAsync()
    {
        var tokens = await fixture.NewUserAsync(Timeout(60));
        return fixture.CreateServiceClient(tokens.AccessToken);
    }

    private static async Task<string> SubAsync(HttpClient client) =>
        (string)(await client.GetFromJsonAsync<JsonObject>("/api/me", Timeout(60)))!["sub"]!;

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient client, params (string Part, byte[] Data, string FileName, string ContentType)[] files)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (part, data, fileName, contentType) in files)
        {
            var content = new ByteArrayContent(data);
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            form.Add(content, part, fileName);
        }

        return await client.PostAsync(new Uri("/api/images", UriKind.Relative), form, Timeout(120));
    }

    private static async Task<JsonObject> CreateUploadAsync(HttpClient client, string fileName, string contentType, long size)
    {
        using var response = await client.PostAsJsonAsync("/api/uploads", new { fileName, contentType, size }, Timeout(60));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Timeout(60)))!;
    }

    private static async Task<JsonObject> WaitForStatusAsync(HttpClient client, string id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var image = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout(60)))!;
            if ((string?)image["status"] == status || DateTime.UtcNow > deadline)
            {
                Assert.Equal(status, (string?)image["status"]);
                return image;
            }

            await Task.Delay(200, Timeout(60));
        }
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? detailContains)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(Timeout(60));
            Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(body)!;
            Assert.Equal((int)status, (int?)problem["status"]);
            if (detailContains is not null)
            {
                Assert.Contains(detailContains, body, StringComparison.OrdinalIgnoreCase);
            }
        }
    }
}
