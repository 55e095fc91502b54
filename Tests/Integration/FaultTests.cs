using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using ImageAspire.Tests.Infrastructure;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Integration;

/// <summary>An AppHost of its own: these tests stop and restart the emulators.</summary>
public sealed class FaultAppHostFixture : AppHostFixture;

[CollectionDefinition(Name)]
public sealed class FaultAppHostGroup : ICollectionFixture<FaultAppHostFixture>
{
    public const string Name = "apphost-faults";
}

/// <summary>Storage outages: requests fail fast with 503, nothing half-written, and service resumes after a restart.</summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class FaultTests(FaultAppHostFixture fixture)
{
    private static CancellationToken Timeout(int seconds = 120) =>
        CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken, new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token).Token;

    [Theory]
    [InlineData("s3")]
    [InlineData("dynamodb")]
    public async Task A_stopped_storage_service_gives_fast_503s_and_uploads_work_again_after_a_restart(string emulator)
    {
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        var before = await UploadAsync(client, "before.jpg");
        Assert.Equal(HttpStatusCode.Created, before.Status);

        await fixture.App.ResourceCommands.ExecuteCommandAsync(emulator, KnownResourceCommands.StopCommand, Timeout());
        await fixture.App.ResourceNotifications.WaitForResourceAsync(emulator, KnownResourceStates.TerminalStates, Timeout());
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var during = await UploadAsync(client, "during.jpg");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Status);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}");
            Assert.True(during.RetryAfter > TimeSpan.Zero);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/health", UriKind.Relative), Timeout())).StatusCode);
        }
        finally
        {
            await fixture.App.ResourceCommands.ExecuteCommandAsync(emulator, KnownResourceCommands.StartCommand, Timeout());
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(emulator, Timeout());
        }

        var after = await UploadAsync(client, "after.jpg");
        Assert.Equal(HttpStatusCode.Created, after.Status);

        // Nothing from the failed upload was kept: the listing holds exactly the two successful images, both Ready,
        // and the user's originals are exactly theirs.
        var list = (await client.GetFromJsonAsync<JsonObject>("/api/images", Timeout()))!;
        var items = ((JsonArray)list["items"]!).Select(i => i!).ToList();
        Assert.Equal([after.Id, before.Id], items.Select(i => (string?)i["id"]));
        Assert.All(items, i => Assert.Equal("Ready", (string?)i["status"]));
        var sub = (string)(await client.GetFromJsonAsync<JsonObject>("/api/me", Timeout()))!["sub"]!;
        var originals = await fixture.S3.ListObjectsV2Async(new() { BucketName = fixture.Environment["OriginalsBucketName"], Prefix = $"originals/{sub}/" }, Timeout());
        Assert.Equal(new[] { before.Id, after.Id }.Select(id => $"originals/{sub}/{id}.jpg").Order(), (originals.S3Objects ?? []).Select(o => o.Key).Order());
    }

    private static async Task<(HttpStatusCode Status, string? Id, TimeSpan? RetryAfter)> UploadAsync(HttpClient client, string name)
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(TestImages.Jpeg(400, 300));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(content, "file", name);
        using var response = await client.PostAsync(new Uri("/api/images", UriKind.Relative), form, Timeout());
        var body = await response.Content.ReadAsStringAsync(Timeout());
        var id = response.StatusCode == HttpStatusCode.Created ? (string?)JsonNode.Parse(body)!["id"] : null;
        return (response.StatusCode, id, response.Headers.RetryAfter?.Delta);
    }
}
