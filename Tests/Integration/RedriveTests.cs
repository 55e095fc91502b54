using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Amazon.S3.Model;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// An S3 event that fails every attempt lands in the failure bucket as Lambda's invocation record; the redrive command
/// processes it again once the cause is gone, and running it again changes nothing.
/// </summary>
[Collection(RedriveAppHostGroup.Name)]
public sealed class RedriveTests(RedriveAppHostFixture fixture)
{

    [Fact]
    public async Task A_failed_S3_event_goes_to_the_failure_bucket_and_the_redrive_makes_its_image_ready_once()
    {
        var (client, _) = await fixture.NewUserClientAsync(Timeout());
        using var _client = client;
        var bytes = TestImages.Jpeg(800, 600);
        var ticket = await ApiCalls.CreateUploadAsync(client, "outage.jpg", "image/jpeg", bytes.Length, Timeout());
        Assert.Equal(HttpStatusCode.Created, ticket.Status);
        var id = ticket.Id!;

        // The table is unreachable for this image from now on: every attempt of its S3 event fails.
        fixture.DynamoDbProxy.Inject(request => request.Body.Contains(id, StringComparison.Ordinal), ProxyFault.ResetBeforeForwarding, times: int.MaxValue);
        JsonObject record;
        try
        {
            Assert.Equal(HttpStatusCode.OK, await TicketPuts.PutAsync(ticket.Body!, bytes, Timeout()));
            (var key, record) = await WaitForFailureRecordAsync(Timeout(90));
            Assert.Equal("RetriesExhausted", (string?)record["requestContext"]!["condition"]);
            Assert.Equal(3, (int)record["requestContext"]!["approximateInvokeCount"]!);
            Assert.Equal("Unhandled", (string?)record["responseContext"]!["functionError"]);
            Assert.StartsWith("aws/lambda/async/", key, StringComparison.Ordinal);
            var eventKey = (string?)record["requestPayload"]!["Records"]![0]!["s3"]!["object"]!["key"];
            Assert.Contains(id, Uri.UnescapeDataString(eventKey!), StringComparison.Ordinal);

            // Redriven while the cause lasts: it fails again, and the record stays.
            var whileDown = await fixture.RedriveAsync(Timeout());
            Assert.True(whileDown is { ExitCode: 1, Redriven: 0, StillFailing: 1 }, whileDown.Output);
            Assert.Equal([key], await fixture.ListKeysAsync(fixture.FailedEventsBucket, string.Empty, Timeout()));
        }
        finally
        {
            fixture.DynamoDbProxy.Clear();
        }

        var pending = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!;
        Assert.Equal("Pending", (string?)pending["status"]);

        var redrive = await fixture.RedriveAsync(Timeout());
        Assert.True(redrive is { ExitCode: 0, Redriven: 1, StillFailing: 0, Unreadable: 0 }, redrive.Output);
        Assert.Empty(await fixture.ListKeysAsync(fixture.FailedEventsBucket, string.Empty, Timeout()));
        var ready = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!;
        Assert.Equal("Ready", (string?)ready["status"]);
        var renditions = await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], "renditions/", Timeout());

        // Idempotent: a second redrive finds nothing, and a record written again (a lost delete) changes nothing.
        var again = await fixture.RedriveAsync(Timeout());
        Assert.True(again is { ExitCode: 0, Redriven: 0 }, again.Output);
        await fixture.S3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = fixture.FailedEventsBucket,
            Key = "aws/lambda/async/replayed",
            ContentBody = record.ToJsonString(),
            ContentType = "application/json",
        }, Timeout());
        var replayed = await fixture.RedriveAsync(Timeout());
        Assert.True(replayed is { ExitCode: 0, Redriven: 1 }, replayed.Output);
        Assert.Equal(ready.ToJsonString(), (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!.ToJsonString());
        Assert.Equal(renditions, await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], "renditions/", Timeout()));
    }

    [Fact]
    public async Task A_record_that_holds_no_S3_event_is_kept_and_reported()
    {
        await fixture.S3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = fixture.FailedEventsBucket,
            Key = "aws/lambda/async/not-an-s3-event",
            ContentBody = """{"version":"1.0","requestPayload":{"source":"aws.events"}}""",
            ContentType = "application/json",
        }, Timeout());
        try
        {
            var redrive = await fixture.RedriveAsync(Timeout());
            Assert.True(redrive is { ExitCode: 1, Unreadable: 1 }, redrive.Output);
            Assert.Contains("aws/lambda/async/not-an-s3-event", await fixture.ListKeysAsync(fixture.FailedEventsBucket, string.Empty, Timeout()));
        }
        finally
        {
            await fixture.S3.DeleteObjectAsync(fixture.FailedEventsBucket, "aws/lambda/async/not-an-s3-event", Timeout());
        }
    }

    private async Task<(string Key, JsonObject Record)> WaitForFailureRecordAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var keys = await fixture.ListKeysAsync(fixture.FailedEventsBucket, string.Empty, cancellationToken);
            if (keys.Count > 0)
            {
                return (keys[0], await ReadAsync(keys[0]));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    private async Task<JsonObject> ReadAsync(string key)
    {
        using var stored = await fixture.S3.GetObjectAsync(fixture.FailedEventsBucket, key, Timeout());
        return (JsonNode.Parse(stored.ResponseStream) as JsonObject)!;
    }
}
