using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>The pipeline's concurrency bound, met through the API by real concurrent uploads.</summary>
[Collection(NarrowPipelineAppHostGroup.Name)]
public sealed class PipelineBoundTests(NarrowPipelineAppHostFixture fixture)
{

    [Fact]
    public async Task Uploads_beyond_the_bound_get_503_with_Retry_After_leave_nothing_and_succeed_when_retried()
    {
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        var sub = (string)(await client.GetFromJsonAsync<JsonObject>("/api/me", Timeout()))!["sub"]!;
        var photo = TestImages.Jpeg(4000, 3000); // 12 MP: long enough in the pipeline that the others arrive meanwhile

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => ApiCalls.UploadAsync(client, photo, $"{i}.jpg", "image/jpeg", Timeout())));

        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable, $"{(int)a.Status} {a.Body}"));
        var busy = answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(busy);
        Assert.Contains(answers, a => a.Status == HttpStatusCode.Created);
        Assert.All(busy, a =>
        {
            Assert.True(a.RetryAfter > TimeSpan.Zero);
            Assert.Equal("Busy", (string?)a.Body!["title"]);
        });
        TestContext.Current.TestOutputHelper?.WriteLine($"{busy.Count} of {answers.Length} concurrent uploads refused as busy");

        // Refused uploads left nothing; the accepted ones are complete.
        var created = answers.Where(a => a.Status == HttpStatusCode.Created).Select(a => a.Id!).ToList();
        Assert.Equal(created.Order(), (await ApiCalls.ListAllAsync(client, Timeout())).Select(i => (string)i["id"]!).Order());
        var originals = await fixture.S3.ListObjectsV2Async(new() { BucketName = fixture.Environment["OriginalsBucketName"], Prefix = $"originals/{sub}/" }, Timeout());
        Assert.Equal(created.Select(id => $"originals/{sub}/{id}.jpg").Order(), (originals.S3Objects ?? []).Select(o => o.Key).Order());

        // Retried one at a time after Retry-After, every refused upload goes through.
        foreach (var refused in busy)
        {
            await Task.Delay(refused.RetryAfter!.Value, Timeout());
            Assert.Equal(HttpStatusCode.Created, (await ApiCalls.UploadAsync(client, photo, "retry.jpg", "image/jpeg", Timeout())).Status);
        }
    }

    [Fact]
    public async Task Presigned_uploads_that_meet_a_busy_pipeline_are_processed_on_retry()
    {
        var tokens = await fixture.NewUserAsync(Timeout());
        using var client = fixture.CreateServiceClient(tokens.AccessToken);
        var photo = TestImages.Jpeg(4000, 3000);

        // Four files arrive at once: their S3 events and completes compete for the one pipeline slot.
        var tickets = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => ApiCalls.CreateUploadAsync(client, $"{i}.jpg", "image/jpeg", photo.Length, Timeout())));
        Assert.All(tickets, t => Assert.Equal(HttpStatusCode.Created, t.Status));
        Assert.All(await Task.WhenAll(tickets.Select(t => TicketPuts.PutAsync(t.Body!, photo, Timeout()))), s => Assert.Equal(HttpStatusCode.OK, s));
        var first = await Task.WhenAll(tickets.Select(t => ApiCalls.CompleteAsync(client, t.Id!, Timeout())));
        Assert.All(first, a => Assert.True(a.Status is HttpStatusCode.OK || (a.Status == HttpStatusCode.ServiceUnavailable && a.RetryAfter > TimeSpan.Zero), $"{(int)a.Status} {a.Body}"));
        TestContext.Current.TestOutputHelper?.WriteLine($"first completes: {string.Join(", ", first.Select(a => $"{(int)a.Status} {a.ImageStatus}"))}");

        // A busy refusal released the claim, so a retry (the client's or the event's) processes each one once.
        foreach (var ticket in tickets)
        {
            var answer = await ApiCalls.CompleteUntilSettledAsync(client, ticket.Id!, Timeout(300));
            Assert.Equal("Ready", answer.ImageStatus);
            Assert.Equal(6, ((JsonArray)answer.Body!["renditions"]!).Count);
        }
    }
}
