using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

[Collection(LambdaFaultAppHostGroup.Name)]
public sealed class LambdaDeadlineTests(LambdaFaultAppHostFixture fixture)
{

    [Fact]
    public async Task An_s3_event_invocation_cut_off_at_its_deadline_mid_commit_is_finished_by_the_events_retry()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout(180));
        var jpeg = TestImages.Jpeg(640, 480);
        var ticket = await ApiCalls.CreateUploadAsync(client, "deadline.jpg", "image/jpeg", jpeg.Length, Timeout(180));
        Assert.Equal(HttpStatusCode.Created, ticket.Status);

        // The commit (and the SDK's retry of it) is held past the function's deadline, then applied late.
        fixture.DynamoDbProxy.Inject(r => r.Operation == "PutItem" && r.Body.Contains(sub, StringComparison.Ordinal)
            && r.Body.Contains("#version", StringComparison.Ordinal) && r.Body.Contains("\"Ready\"", StringComparison.Ordinal), ProxyFault.HoldThenForwardLate, times: 2);
        Assert.Equal(HttpStatusCode.OK, await TicketPuts.PutAsync(ticket.Body!, jpeg, Timeout(180)));

        // Nobody calls complete: only the S3 event, delivered again after the cut-off invocation failed, can finish it.
        // Watched in the table, not through the API: the local Lambda service runs one invocation at a time, and the
        // cut-off invocation keeps its function busy past its deadline (real Lambda would start a fresh instance), so
        // a GET sent meanwhile can time out in the queue.
        var started = DateTimeOffset.UtcNow;
        ImageAspire.ImageService.Storage.ImageRecord? stored;
        do
        {
            await Task.Delay(500, Timeout(180));
            await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
            stored = await StoredImages.Store(fixture).GetAsync(sub, ticket.Id!, Timeout(180));
            Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(90), $"still {stored?.Status}");
        }
        while (stored?.Status != ImageAspire.ImageService.Storage.ImageStatus.Ready);

        var image = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{ticket.Id}", Timeout(180)))!;
        Assert.Equal("Ready", (string?)image["status"]);

        Assert.NotEmpty(fixture.DynamoDbProxy.Faulted);
        TestContext.Current.TestOutputHelper?.WriteLine($"Ready {(DateTimeOffset.UtcNow - started).TotalSeconds:F1} s after the PUT; held commits: {fixture.DynamoDbProxy.Faulted.Count}");
        await fixture.DynamoDbProxy.LandHeldRequestsAsync();
        fixture.DynamoDbProxy.Clear();

        // The cut-off attempt's commit landed late and failed its condition: the item names the retry's attempt.
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
        var item = Assert.Single(await StoredImages.LiveItemsAsync(fixture, sub, Timeout(180)));
        Assert.Equal(ImageAspire.ImageService.Storage.ImageStatus.Ready, item.Status);
        Assert.Equal(6, ((JsonArray)image["renditions"]!).Count);
        await StoredImages.SweepAndAssertNothingUnreferencedAsync(fixture, sub, TimeSpan.FromMinutes(2), Timeout(180));
    }
}
