using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// Deterministic faults against the real emulators: one storage call of a flow, chosen by what it is, is reset before
/// it reaches the store, applied with its answer lost, held until the caller gave up and applied late, or answered
/// a few bytes a second. After each: the invariants, then the late writes land, then the invariants again.
/// </summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class StorageFaultTests(FaultAppHostFixture fixture)
{

    /// <summary>A step of a flow: which proxy sees it, and how to recognise it (scoped to one user's keys).</summary>
    public sealed record FlowStep(string Name, bool S3, Func<ProxiedRequest, UserKeys, bool> Matches)
    {
        public override string ToString() => Name;
    }

    /// <summary>A user's sub (in originals' keys and items) and media key (in renditions' keys).</summary>
    public sealed record UserKeys(string Sub, string MediaKey);

    private static readonly Dictionary<string, FlowStep> Steps = new FlowStep[]
    {
        new("s3 put original", true, (r, user) => r.Method == "PUT" && r.PathAndQuery.Contains($"/originals/{user.Sub}/", StringComparison.Ordinal)),
        new("s3 put rendition", true, (r, user) => r.Method == "PUT" && r.PathAndQuery.Contains($"/renditions/{user.MediaKey}/", StringComparison.Ordinal)),
        new("s3 get original", true, (r, user) => r.Method == "GET" && r.PathAndQuery.Contains($"/originals/{user.Sub}/", StringComparison.Ordinal)),
        new("s3 delete", true, (r, user) => r.Method == "DELETE" && (r.PathAndQuery.Contains($"/{user.Sub}/", StringComparison.Ordinal) || r.PathAndQuery.Contains($"/{user.MediaKey}/", StringComparison.Ordinal))),
        new("dynamodb create", false, (r, user) => r.Operation == "PutItem" && r.Body.Contains(user.Sub, StringComparison.Ordinal) && r.Body.Contains("attribute_not_exists", StringComparison.Ordinal) && r.Body.Contains("\"Ready\"", StringComparison.Ordinal)),
        new("dynamodb claim", false, (r, user) => r.Operation == "PutItem" && r.Body.Contains(user.Sub, StringComparison.Ordinal) && r.Body.Contains("\"Processing\"", StringComparison.Ordinal)),
        // A presigned upload's commit, or a direct upload's confirmation: a conditional write of a Ready item.
        new("dynamodb commit", false, (r, user) => r.Operation == "PutItem" && r.Body.Contains(user.Sub, StringComparison.Ordinal) && r.Body.Contains("#version", StringComparison.Ordinal) && r.Body.Contains("\"Ready\"", StringComparison.Ordinal)),
        new("dynamodb discard", false, (r, user) => r.Operation == "PutItem" && r.Body.Contains(user.Sub, StringComparison.Ordinal) && r.Body.Contains("\"Discarded\"", StringComparison.Ordinal)),
        new("dynamodb get", false, (r, user) => r.Operation == "GetItem" && r.Body.Contains(user.Sub, StringComparison.Ordinal)),
    }.ToDictionary(s => s.Name);

    public static TheoryData<string, ProxyFault, int> DirectUploadFaults => Cases(
        ["s3 put original", "s3 put rendition", "dynamodb create", "dynamodb commit"],
        [ProxyFault.ResetBeforeForwarding, ProxyFault.ForwardThenReset, ProxyFault.HoldThenForwardLate]);

    public static TheoryData<string, ProxyFault, int> CompleteFaults => Cases(
        ["dynamodb claim", "s3 get original", "s3 put rendition", "dynamodb commit"],
        [ProxyFault.ResetBeforeForwarding, ProxyFault.ForwardThenReset, ProxyFault.HoldThenForwardLate]);

    public static TheoryData<string, ProxyFault, int> DeleteFaults => Cases(
        ["dynamodb discard", "s3 delete"],
        [ProxyFault.ResetBeforeForwarding, ProxyFault.ForwardThenReset, ProxyFault.HoldThenForwardLate]);

    /// <summary>Each fault once (the SDK's retry then passes: an applied write answers with a failed condition) and twice (the retry fails as well).</summary>
    private static TheoryData<string, ProxyFault, int> Cases(string[] steps, ProxyFault[] faults)
    {
        var data = new TheoryData<string, ProxyFault, int>();
        foreach (var step in steps)
        {
            foreach (var fault in faults)
            {
                data.Add(step, fault, 2);
                if (fault == ProxyFault.ForwardThenReset)
                {
                    data.Add(step, fault, 1);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DirectUploadFaults))]
    [InlineData("dynamodb create", ProxyFault.TrickleAnswer, 2)]
    public async Task A_direct_upload_keeps_the_invariants_when_one_storage_call_fails(string step, ProxyFault fault, int times)
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout(180));
        Inject(step, sub, fault, times);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var answer = await ApiCalls.UploadAsync(client, TestImages.Jpeg(320, 240), "faulted.jpg", "image/jpeg", Timeout(180));
        AssertWithinApiGatewayTimeout(stopwatch);
        fixture.S3Proxy.Clear();
        fixture.DynamoDbProxy.Clear();
        AssertFaultMet(step);

        AssertAnsweredWell(answer);
        Assert.True(answer.Status is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable, $"{(int)answer.Status} {answer.Body}");
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));

        await LandLateWritesAsync();
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
        var live = await EventuallyAsync(async () =>
        {
            var items = await StoredImages.LiveItemsAsync(fixture, sub, Timeout(180));
            // (2) a 201 is a Ready image; (3) a refused upload leaves no item anyone is shown (a late create is never confirmed).
            return answer.Status == HttpStatusCode.Created ? items.Count == 1 && items[0].Status == ImageStatus.Ready && items[0].Id == answer.Id : items.Count == 0;
        }, "the items to match the answer");
        Assert.True(live, $"{(int)answer.Status}: items {string.Join(", ", (await StoredImages.LiveItemsAsync(fixture, sub, Timeout(180))).Select(i => $"{i.Id} {i.Status}"))}");

        await StoredImages.SweepAndAssertNothingUnreferencedAsync(fixture, sub, FaultAppHostFixture.ClaimTimeout, Timeout(180));
    }

    [Theory]
    [MemberData(nameof(CompleteFaults))]
    [InlineData("dynamodb commit", ProxyFault.TrickleAnswer, 2)]
    public async Task A_presigned_upload_keeps_the_invariants_when_one_storage_call_fails_and_a_retry_finishes_it(string step, ProxyFault fault, int times)
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout(180));
        var jpeg = TestImages.Jpeg(320, 240);
        var ticket = await ApiCalls.CreateUploadAsync(client, "presigned.jpg", "image/jpeg", jpeg.Length, Timeout(180));
        Assert.Equal(HttpStatusCode.Created, ticket.Status);

        // The PUT's event and the complete race for the claim; whichever makes the faulted call meets the fault.
        Inject(step, sub, fault, times);
        Assert.Equal(HttpStatusCode.OK, await TicketPuts.PutAsync(ticket.Body!, jpeg, Timeout(180)));
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var answer = await ApiCalls.CompleteAsync(client, ticket.Id!, Timeout(180));
        AssertWithinApiGatewayTimeout(stopwatch);
        AssertAnsweredWell(answer);
        await AssertWholeBeforeAndAfterLateWritesAsync(step, sub);

        var settled = await ApiCalls.CompleteUntilSettledAsync(client, ticket.Id!, Timeout(180));
        Assert.True(settled.ImageStatus == "Ready", $"{(int)settled.Status} {settled.Body}");
        Assert.Equal(6, ((JsonArray)settled.Body!["renditions"]!).Count);
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
        await StoredImages.SweepAndAssertNothingUnreferencedAsync(fixture, sub, FaultAppHostFixture.ClaimTimeout, Timeout(180));
    }

    [Theory]
    [MemberData(nameof(DeleteFaults))]
    public async Task A_delete_keeps_the_invariants_when_one_storage_call_fails_and_a_repeat_finishes_it(string step, ProxyFault fault, int times)
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout(180));
        var uploaded = await ApiCalls.UploadAsync(client, TestImages.Jpeg(320, 240), "doomed.jpg", "image/jpeg", Timeout(180));
        Assert.Equal(HttpStatusCode.Created, uploaded.Status);

        Inject(step, sub, fault, times);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        using (var deleted = await client.DeleteAsync(new Uri($"/api/images/{uploaded.Id}", UriKind.Relative), Timeout(180)))
        {
            AssertWithinApiGatewayTimeout(stopwatch);
            Assert.True(deleted.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable, $"{(int)deleted.StatusCode}");
            if (deleted.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.NotNull(deleted.Headers.RetryAfter);
            }
        }

        await AssertWholeBeforeAndAfterLateWritesAsync(step, sub);

        using (var again = await client.DeleteAsync(new Uri($"/api/images/{uploaded.Id}", UriKind.Relative), Timeout(180)))
        {
            Assert.True(again.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound, $"{(int)again.StatusCode}");
        }

        using (var get = await client.GetAsync(new Uri($"/api/images/{uploaded.Id}", UriKind.Relative), Timeout(180)))
        {
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }

        await StoredImages.SweepAndAssertNothingUnreferencedAsync(fixture, sub, FaultAppHostFixture.ClaimTimeout, Timeout(180));
        Assert.Empty(await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], fixture.RenditionsPrefixOf(sub), Timeout(180)));
        Assert.Empty(await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout(180)));
    }

    [Fact]
    public async Task The_services_own_sweeper_removes_unreferenced_objects_within_its_grace_and_interval()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout(180));
        var kept = await ApiCalls.UploadAsync(client, TestImages.Jpeg(320, 240), "kept.jpg", "image/jpeg", Timeout(180));
        Assert.Equal(HttpStatusCode.Created, kept.Status);

        // What a crashed worker leaves: a rendition of an attempt no item names, and an original of an id with no item.
        var orphanId = ImageId.New();
        var stray = ImageKeys.Rendition(fixture.MediaPaths.Encode(sub), kept.Id!, "deadattempt1", "thumb", EncodedFormat.Jpeg);
        var orphan = ImageKeys.Original(sub, orphanId, "jpg");
        await fixture.S3.PutObjectAsync(new() { BucketName = fixture.Environment["RenditionsBucketName"], Key = stray, ContentBody = "x" }, Timeout(180));
        await fixture.S3.PutObjectAsync(new() { BucketName = fixture.Environment["OriginalsBucketName"], Key = orphan, ContentBody = "x" }, Timeout(180));
        var planted = DateTimeOffset.UtcNow;

        var bound = FaultAppHostFixture.SweepGrace + FaultAppHostFixture.SweepInterval + TimeSpan.FromSeconds(10);
        while (await ExistsAsync("RenditionsBucketName", stray) || await ExistsAsync("OriginalsBucketName", orphan))
        {
            Assert.True(DateTimeOffset.UtcNow - planted < bound, $"not swept within {bound}");
            await Task.Delay(500, Timeout(180));
        }

        var removedAfter = DateTimeOffset.UtcNow - planted;
        TestContext.Current.TestOutputHelper?.WriteLine($"swept after {removedAfter.TotalSeconds:F1} s (grace {FaultAppHostFixture.SweepGrace.TotalSeconds} s, interval {FaultAppHostFixture.SweepInterval.TotalSeconds} s)");
        // S3 keeps LastModified to the second, so the grace is counted from up to a second before the PUT.
        Assert.True(removedAfter >= FaultAppHostFixture.SweepGrace - TimeSpan.FromSeconds(1), $"removed after {removedAfter}, inside the grace");

        // The orphan's id is fenced, and the image that was there is untouched.
        var fenced = await StoredImages.Store(fixture).GetAsync(sub, orphanId, Timeout(180));
        Assert.Equal(ImageStatus.Discarded, fenced?.Status);
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
        Assert.Equal(7, (await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], fixture.RenditionsPrefixOf(sub), Timeout(180))).Count
            + (await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout(180))).Count);
    }

    private async Task<bool> ExistsAsync(string bucket, string key) =>
        (await fixture.ListKeysAsync(fixture.Environment[bucket], key, Timeout(180))).Contains(key);

    private void Inject(string step, string sub, ProxyFault fault, int times)
    {
        var chosen = Steps[step];
        (chosen.S3 ? fixture.S3Proxy : fixture.DynamoDbProxy).Inject(r => chosen.Matches(r, new UserKeys(sub, fixture.MediaPaths.Encode(sub))), fault, times);
    }

    /// <summary>The fault was met: the flow made the call it was meant to break.</summary>
    private void AssertFaultMet(string step)
    {
        var proxy = Steps[step].S3 ? fixture.S3Proxy : fixture.DynamoDbProxy;
        Assert.NotEmpty(proxy.Faulted);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(Environment.NewLine, proxy.Faulted.Select(f => $"{f.Fault}: {f.Request}")));
    }

    /// <summary>API Gateway gives up on an integration after 29 s: every answer must come before.</summary>
    private static void AssertWithinApiGatewayTimeout(System.Diagnostics.Stopwatch stopwatch)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"answered in {stopwatch.Elapsed.TotalSeconds:F1} s");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(29), $"answered after {stopwatch.Elapsed}");
    }

    private static void AssertAnsweredWell(ApiAnswer answer)
    {
        Assert.True(answer.Status is HttpStatusCode.OK or HttpStatusCode.Created || (answer.IsRetryable && answer.RetryAfter > TimeSpan.Zero),
            $"{(int)answer.Status} {answer.Body}");
    }

    /// <summary>Invariant 1 now; then the held writes land, the fault is off, it was met, and invariant 1 again.</summary>
    private async Task AssertWholeBeforeAndAfterLateWritesAsync(string step, string sub)
    {
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
        await LandLateWritesAsync();
        fixture.S3Proxy.Clear();
        fixture.DynamoDbProxy.Clear();
        AssertFaultMet(step);
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, Timeout(180));
    }

    private async Task LandLateWritesAsync()
    {
        await fixture.S3Proxy.LandHeldRequestsAsync();
        await fixture.DynamoDbProxy.LandHeldRequestsAsync();
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"gave up waiting for {what}");
                return false;
            }

            await Task.Delay(250, Timeout(180));
        }

        return true;
    }
}
