using System.Text;
using System.Text.Json.Nodes;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Unit.StateMachine;

/// <summary>
/// The redrive of a failed S3 event under every storage fault. Its invariant: a record leaves the failure bucket only
/// once its event was processed (so at every moment the upload is Ready or its record is still there), and a later
/// run finishes what a failed one left.
/// </summary>
public sealed class RedriveStateMachineTests
{
    private const string FailedEvents = "failed-events-bucket";
    private const string RecordKey = "aws/lambda/async/images/2026/11/29/2026-11-29T12.00.00-request";

    // A clean redrive of one record: list, get the record, the event's eleven calls (as complete), delete the record.
    public static TheoryData<int, Fault> RedriveCalls => UploadStateMachineTests.EveryCallEveryFault(14);

    [Fact]
    public async Task A_clean_redrive_makes_the_calls_the_matrix_fails()
    {
        using var h = new Harness();
        var (redrive, upload) = await FailedUploadAsync(h);
        var before = h.Plan.Calls;

        var report = await redrive.RedriveAsync(null, Harness.Token);

        Assert.Equal(new RedriveReport(1, 0, 0, false, null), report);
        Assert.Equal(14, h.Plan.Calls - before);
        Assert.Equal(ImageStatus.Ready, h.Metadata.Peek(Harness.Owner, upload.Image.Id)!.Status);
        Assert.False(h.Objects.Exists(FailedEvents, RecordKey));
    }

    [Theory]
    [MemberData(nameof(RedriveCalls))]
    public async Task A_redrive_keeps_its_record_until_the_event_succeeded_whichever_call_fails(int call, Fault fault)
    {
        using var h = new Harness();
        var (redrive, upload) = await FailedUploadAsync(h);
        h.Plan.FailCall(h.Plan.Calls + call, fault);

        try
        {
            var report = await redrive.RedriveAsync(null, Harness.Token);
            Assert.Equal(1, report.Redriven + report.StillFailing);
        }
        catch (Exception ex) when (StorageCalls.IsTransient(ex))
        {
            // The redrive invocation fails (a storage call of its own): the command reports it and is run again.
        }

        AssertRecordKeptUnlessReady(h, upload);
        await h.Plan.LandHeldCallsAsync();
        AssertRecordKeptUnlessReady(h, upload);
        h.AssertReadyItemsAreWhole();

        // The next run (after a claim the failed run may have left has expired) finishes it, and a further run has nothing to do.
        h.Time.Advance(Harness.ClaimTimeout + TimeSpan.FromSeconds(1));
        var next = await redrive.RedriveAsync(null, Harness.Token);
        Assert.Equal(0, next.StillFailing);
        Assert.Equal(ImageStatus.Ready, h.Metadata.Peek(Harness.Owner, upload.Image.Id)!.Status);
        Assert.False(h.Objects.Exists(FailedEvents, RecordKey));
        Assert.Equal(new RedriveReport(0, 0, 0, false, null), await redrive.RedriveAsync(null, Harness.Token));

        await h.SettleAsync();
        h.AssertReadyItemsAreWhole();
        h.AssertNoUnreferencedObjects();
        Assert.Equal(7, h.Objects.Keys.Count);
    }

    [Fact]
    public async Task Records_that_fail_again_do_not_keep_a_run_from_the_ones_behind_them()
    {
        using var h = new Harness();
        var (redrive, _) = await FailedUploadAsync(h);
        // Ahead of the good record in key order: more records that fail again than one run tries.
        for (var i = 0; i < FailedEventRedrive.RecordsPerRun; i++)
        {
            h.Objects.Put(FailedEvents, $"aws/lambda/async/images/2026/11/28/{i:D3}", Encoding.UTF8.GetBytes("""{"requestPayload":{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"originals-bucket"},"object":{"key":"originals/nobody/not-an-id"}}}]}}"""));
            h.Objects.Put(FailedEvents, $"aws/lambda/async/images/2026/11/28/{i:D3}-junk", "not json"u8.ToArray());
        }

        var first = await redrive.RedriveAsync(null, Harness.Token);
        Assert.True(first.More);
        var second = await redrive.RedriveAsync(first.Next, Harness.Token);
        var third = await redrive.RedriveAsync(second.Next, Harness.Token);

        // The events of unknown uploads are done (nothing to do), junk stays, and the real record was reached and redriven.
        Assert.Equal(FailedEventRedrive.RecordsPerRun + 1, first.Redriven + second.Redriven + third.Redriven);
        Assert.Equal(FailedEventRedrive.RecordsPerRun, first.Unreadable + second.Unreadable + third.Unreadable);
        Assert.False(third.More);
        Assert.False(h.Objects.Exists(FailedEvents, RecordKey));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"version":"1.0","requestPayload":{"source":"aws.events","detail-type":"Scheduled Event"}}""")]
    [InlineData("""{"version":"1.0","requestPayload":"a string"}""")]
    [InlineData("""{"version":"1.0","requestPayload":{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}}""")]
    public void A_record_without_an_object_created_event_is_not_read_as_one(string record) =>
        Assert.Null(FailedEventRedrive.Read(Encoding.UTF8.GetBytes(record)));

    private static void AssertRecordKeptUnlessReady(Harness h, PresignedUpload upload) =>
        Assert.True(h.Objects.Exists(FailedEvents, RecordKey) || h.Metadata.Peek(Harness.Owner, upload.Image.Id)!.Status == ImageStatus.Ready,
            "the failure record was deleted before its upload was processed");

    // A presigned upload whose S3 event failed every attempt: its original is stored, its item Pending, and Lambda's
    // record of the event is in the failure bucket.
    private static async Task<(FailedEventRedrive Redrive, PresignedUpload Upload)> FailedUploadAsync(Harness h)
    {
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);
        var s3Event = new JsonObject
        {
            ["Records"] = new JsonArray(new JsonObject
            {
                ["eventName"] = "ObjectCreated:Put",
                ["s3"] = new JsonObject
                {
                    ["bucket"] = new JsonObject { ["name"] = Harness.Originals },
                    ["object"] = new JsonObject { ["key"] = Uri.EscapeDataString(upload.Image.OriginalKey).Replace("%2F", "/", StringComparison.Ordinal), ["size"] = FakePipeline.Good.Length },
                },
            }),
        };
        var record = new JsonObject
        {
            ["version"] = "1.0",
            ["requestContext"] = new JsonObject { ["condition"] = "RetriesExhausted", ["approximateInvokeCount"] = 3 },
            ["requestPayload"] = s3Event,
        };
        h.Objects.Put(FailedEvents, RecordKey, Encoding.UTF8.GetBytes(record.ToJsonString()));
        var storage = Options.Create(new StorageOptions { OriginalsBucket = Harness.Originals, RenditionsBucket = Harness.Renditions, Table = "images", FailedEventsBucket = FailedEvents });
        var processor = new S3EventProcessor(new PresignedUploadObjectCreatedHandler(h.Presigned), NullLogger<S3EventProcessor>.Instance);
        return (new FailedEventRedrive(h.Objects, processor, storage, NullLogger<FailedEventRedrive>.Instance), upload);
    }
}
