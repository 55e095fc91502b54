using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.Options;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>Storage outages: requests fail fast with 503, nothing half-written, and service resumes after a restart.</summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class FaultTests(FaultAppHostFixture fixture)
{

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
            // Until healthy again: right after the start command the stopped run's Exited state can still be current.
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(emulator, WaitBehavior.WaitOnResourceUnavailable, Timeout());
        }

        var after = await UploadAsync(client, "after.jpg");
        Assert.Equal(HttpStatusCode.Created, after.Status);

        // Nothing from the failed upload was kept: the listing holds exactly the two successful images, both Ready,
        // and the user's originals are exactly theirs. (With the table down, the refused create's outcome was unknown:
        // its objects are removed in the background once the table answers, within the retry interval.)
        var list = (await client.GetFromJsonAsync<JsonObject>("/api/images", Timeout()))!;
        var items = ((JsonArray)list["items"]!).Select(i => i!).ToList();
        Assert.Equal([after.Id, before.Id], items.Select(i => (string?)i["id"]));
        Assert.All(items, i => Assert.Equal("Ready", (string?)i["status"]));
        var sub = (string)(await client.GetFromJsonAsync<JsonObject>("/api/me", Timeout()))!["sub"]!;
        var expected = new[] { before.Id, after.Id }.Select(id => $"originals/{sub}/{id}.jpg").Order().ToList();
        var settledBy = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        List<string> originals;
        while (!(originals = (await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout())).Order().ToList()).SequenceEqual(expected)
            && DateTimeOffset.UtcNow < settledBy)
        {
            await Task.Delay(250, Timeout());
        }

        Assert.Equal(expected, originals);
    }

    private static async Task<(HttpStatusCode Status, string? Id, TimeSpan? RetryAfter)> UploadAsync(HttpClient client, string name)
    {
        var answer = await ApiCalls.UploadAsync(client, TestImages.Jpeg(400, 300), name, "image/jpeg", Timeout());
        return (answer.Status, answer.Status == HttpStatusCode.Created ? answer.Id : null, answer.RetryAfter);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("dynamodb")]
    public async Task An_outage_during_a_load_run_fails_fast_and_no_upload_stays_pending(string emulator)
    {
        var users = new[] { await fixture.NewUserClientAsync(Timeout()), await fixture.NewUserClientAsync(Timeout()) };
        // Never sent: it must end Failed once its URL expired, not stay Pending for ever.
        var abandoned = await ApiCalls.CreateUploadAsync(users[0].Client, "abandoned.jpg", "image/jpeg", 1000, Timeout());
        Assert.Equal(HttpStatusCode.Created, abandoned.Status);

        // Four clients, each alternating direct and presigned uploads, backing off on 429/503 as clients should.
        var operations = new ConcurrentQueue<Operation>();
        using var stopLoad = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var n = 0; !stopLoad.IsCancellationRequested; n++)
            {
                var user = worker % 2;
                var operation = await RunOperationAsync(users[user].Client, user, presigned: (n + worker) % 2 == 0, $"{worker}-{n}");
                operations.Enqueue(operation);
                if (operation.Answers.LastOrDefault(a => a.IsRetryable) is { } retryable)
                {
                    await Task.Delay(Min(retryable.RetryAfter ?? TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)));
                }
                else if (operation is { Presigned: true, Id: not null, Put: not HttpStatusCode.OK })
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                }
            }
        })).ToList();

        await UntilAsync(() => operations.Count >= 8, "8 operations before the outage");
        await fixture.App.ResourceCommands.ExecuteCommandAsync(emulator, KnownResourceCommands.StopCommand, Timeout());
        await fixture.App.ResourceNotifications.WaitForResourceAsync(emulator, KnownResourceStates.TerminalStates, Timeout());
        var outageBegan = DateTimeOffset.UtcNow;
        var restartBegan = DateTimeOffset.MaxValue;
        try
        {
            await UntilAsync(() => operations.Count(o => o.Start >= outageBegan) >= 6, "6 operations during the outage");
        }
        finally
        {
            restartBegan = DateTimeOffset.UtcNow;
            await fixture.App.ResourceCommands.ExecuteCommandAsync(emulator, KnownResourceCommands.StartCommand, Timeout());
            // Until healthy again: right after the start command the stopped run's Exited state can still be current.
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(emulator, WaitBehavior.WaitOnResourceUnavailable, Timeout());
        }

        var outageEnded = DateTimeOffset.UtcNow;
        await UntilAsync(() => operations.Count(o => o.Start >= outageEnded) >= 8, "8 operations after the restart");
        await stopLoad.CancelAsync();
        await Task.WhenAll(workers);

        var all = operations.ToList();
        var during = all.Where(o => o.Start >= outageBegan && o.End <= restartBegan).ToList();
        var after = all.Where(o => o.Start >= outageEnded).ToList();
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{all.Count} operations: {all.Count(o => o.Start < outageBegan)} before, {during.Count} during the outage, {after.Count} after; " +
            $"slowest call during the outage {during.Select(o => o.SlowestCall).DefaultIfEmpty().Max().TotalSeconds:F1} s");

        // Every answer is a success or a retryable refusal with Retry-After, in bounded time.
        Assert.All(all.SelectMany(o => o.Answers), a => Assert.True(
            a.Status is HttpStatusCode.OK or HttpStatusCode.Created || (a.IsRetryable && a.RetryAfter > TimeSpan.Zero), $"{(int)a.Status} {a.Body}"));
        Assert.All(all, o => Assert.True(o.SlowestCall < TimeSpan.FromSeconds(30), $"{o}: a call took {o.SlowestCall}"));
        Assert.Contains(during, o => o.Answers.Any(a => a.Status == HttpStatusCode.ServiceUnavailable));
        Assert.DoesNotContain(during, o => o is { Presigned: false, Succeeded: true });
        Assert.All(after, o => Assert.True(o.Succeeded, $"after the restart: {o}"));

        // What a client does with a retryable failure: send the file again if the PUT failed, then complete.
        foreach (var o in all.Where(o => o is { Presigned: true, Id: not null, Succeeded: false }))
        {
            if (o.Put != HttpStatusCode.OK && await TryPutAsync(o.Ticket!, o.Data) is not (HttpStatusCode.OK or HttpStatusCode.PreconditionFailed))
            {
                continue; // the URL expired: the upload was never sent and must end Failed
            }

            var completed = await ApiCalls.CompleteUntilSettledAsync(users[o.User].Client, o.Id!, Timeout(300));
            Assert.True(completed.ImageStatus == "Ready", $"retrying {o}: {(int)completed.Status} {completed.Body}");
        }

        // Uploads nobody sent end Failed once their URL and the claim time are over; wait for that, then look.
        var tickets = all.Where(o => o.Ticket is not null).Select(o => (o.Id!, Expires: (DateTimeOffset)o.Ticket!["expiresAt"]!))
            .Append((abandoned.Id!, (DateTimeOffset)abandoned.Body!["expiresAt"]!)).ToDictionary();
        var unsettled = new List<string>();
        foreach (var (client, _) in users)
        {
            unsettled.AddRange((await ApiCalls.ListAllAsync(client, Timeout())).Where(i => (string?)i["status"] is "Pending" or "Processing").Select(i => (string)i["id"]!));
        }

        var settleAt = unsettled.Select(id => tickets[id] + FaultAppHostFixture.ClaimTimeout + TimeSpan.FromSeconds(1)).DefaultIfEmpty(DateTimeOffset.UtcNow).Max();
        output?.WriteLine($"{unsettled.Count} uploads not final after the retries; waiting {Max(settleAt - DateTimeOffset.UtcNow, TimeSpan.Zero).TotalSeconds:F0} s for their expiry");
        await Task.Delay(Max(settleAt - DateTimeOffset.UtcNow, TimeSpan.Zero), Timeout());

        foreach (var (user, (client, sub)) in users.Index())
        {
            var items = await ApiCalls.ListAllAsync(client, Timeout());
            Assert.DoesNotContain(items, i => (string?)i["status"] is "Pending" or "Processing");

            // Exactly the accepted uploads have items: nothing from a refused direct upload, every presigned start.
            var mine = all.Where(o => o.User == user).ToList();
            var expected = mine.Where(o => o.Presigned ? o.Id is not null : o.Last.Status == HttpStatusCode.Created).Select(o => o.Id!).ToList();
            if (user == 0)
            {
                expected.Add(abandoned.Id!);
            }

            Assert.Equal(expected.Order(), items.Select(i => (string)i["id"]!).Order());
            var status = items.ToDictionary(i => (string)i["id"]!, i => (string)i["status"]!);
            Assert.All(mine.Where(o => o.Succeeded), o => Assert.Equal("Ready", status[o.Id!]));
            if (user == 0)
            {
                var failed = items.Single(i => (string)i["id"]! == abandoned.Id);
                Assert.Equal("Failed", (string?)failed["status"]);
                Assert.Contains("expired", (string?)failed["error"], StringComparison.Ordinal);
            }

            // Every Ready item has its original and six renditions. Objects of no item can only come from a failed
            // request whose clean-up met the outage too; they are counted, and bounded by the refused requests.
            var ready = status.Where(s => s.Value == "Ready").Select(s => s.Key).ToHashSet();
            var originals = await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout());
            var renditions = await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], fixture.RenditionsPrefixOf(sub), Timeout());
            Assert.All(ready, id => Assert.Contains($"originals/{sub}/{id}.jpg", originals));
            Assert.All(ready, id => Assert.Equal(6, renditions.Count(k => k.StartsWith($"{fixture.RenditionsPrefixOf(sub)}{id}/", StringComparison.Ordinal))));
            var orphans = originals.Select(k => Path.GetFileNameWithoutExtension(k)).Concat(renditions.Select(k => k.Split('/')[2]))
                .Where(id => !ready.Contains(id)).ToHashSet();
            Assert.DoesNotContain(orphans, status.ContainsKey);
            var refused = mine.Count(o => o.Answers.Any(a => a.Status == HttpStatusCode.ServiceUnavailable));
            output?.WriteLine($"user {user}: {ready.Count} ready, {items.Count - ready.Count} failed, {refused} requests refused with 503, objects of {orphans.Count} refused uploads left behind");
            Assert.True(orphans.Count <= refused, $"{orphans.Count} ids with objects but no item, only {refused} refused requests");
        }
    }

    [Fact]
    public async Task A_claim_left_by_a_dead_worker_is_taken_over_and_an_expired_one_reads_failed()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout());
        var store = new DynamoDbImageMetadataStore(fixture.DynamoDb, Options.Create(new StorageOptions { Table = fixture.Environment["ImagesTableName"] }), TimeProvider.System);
        var jpeg = TestImages.Jpeg(400, 300);

        // A worker claimed the upload and died holding the claim.
        var ticket = await ApiCalls.CreateUploadAsync(client, "claimed.jpg", "image/jpeg", jpeg.Length, Timeout());
        var id = ticket.Id!;
        var pending = (await store.GetAsync(sub, id, Timeout()))!;
        Assert.NotNull(await store.TryUpdateAsync(pending with { Status = ImageStatus.Processing, ClaimedAt = DateTimeOffset.UtcNow }, pending.Version, Timeout()));
        Assert.Equal("Processing", await StatusAsync(client, id));

        // Once the claim timed out the upload reads Pending again, and the object's arrival gets it processed once.
        await Task.Delay(FaultAppHostFixture.ClaimTimeout + TimeSpan.FromSeconds(1), Timeout());
        Assert.Equal("Pending", await StatusAsync(client, id));
        Assert.Equal(HttpStatusCode.OK, await TicketPuts.PutAsync(ticket.Body!, jpeg, Timeout()));
        var completed = await ApiCalls.CompleteUntilSettledAsync(client, id, Timeout(300));
        Assert.Equal("Ready", completed.ImageStatus);
        Assert.Equal(6, ((JsonArray)completed.Body!["renditions"]!).Count);
        Assert.Single(await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/{id}", Timeout()));

        // A dead worker's claim on an upload whose URL expired long ago reads Failed, and complete agrees.
        var expired = await ApiCalls.CreateUploadAsync(client, "expired.jpg", "image/jpeg", jpeg.Length, Timeout());
        var record = (await store.GetAsync(sub, expired.Id!, Timeout()))!;
        var longAgo = DateTimeOffset.UtcNow - FaultAppHostFixture.UploadExpiry - FaultAppHostFixture.ClaimTimeout - TimeSpan.FromMinutes(1);
        Assert.NotNull(await store.TryUpdateAsync(record with { Status = ImageStatus.Processing, ClaimedAt = longAgo, UploadExpiresAt = longAgo }, record.Version, Timeout()));
        Assert.Equal("Failed", await StatusAsync(client, expired.Id!));
        var answer = await ApiCalls.CompleteAsync(client, expired.Id!, Timeout());
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("Failed", answer.ImageStatus);
    }

    private sealed record Operation(bool Presigned, int User, DateTimeOffset Start, DateTimeOffset End, string? Id, IReadOnlyList<ApiAnswer> Answers,
        TimeSpan SlowestCall, JsonNode? Ticket, HttpStatusCode? Put, byte[] Data)
    {
        public ApiAnswer Last => Answers[^1];

        public bool Succeeded => Last.Status is HttpStatusCode.OK or HttpStatusCode.Created && Last.ImageStatus == "Ready";

        public override string ToString() =>
            $"{(Presigned ? "presigned" : "direct")} {Id} [{string.Join(", ", Answers.Select(a => $"{(int)a.Status} {a.ImageStatus}"))}]{(Presigned ? $" put {Put}" : string.Empty)}";
    }

    private static async Task<Operation> RunOperationAsync(HttpClient client, int user, bool presigned, string name)
    {
        var data = TestImages.Jpeg(320, 240);
        var start = DateTimeOffset.UtcNow;
        var answers = new List<ApiAnswer>();
        var slowest = TimeSpan.Zero;
        async Task<ApiAnswer> CallAsync(Func<CancellationToken, Task<ApiAnswer>> call)
        {
            var stopwatch = Stopwatch.StartNew();
            var answer = await call(Timeout(60));
            slowest = Max(slowest, stopwatch.Elapsed);
            answers.Add(answer);
            return answer;
        }

        if (!presigned)
        {
            var uploaded = await CallAsync(ct => ApiCalls.UploadAsync(client, data, $"{name}.jpg", "image/jpeg", ct));
            return new(false, user, start, DateTimeOffset.UtcNow, uploaded.Id, answers, slowest, null, null, data);
        }

        var created = await CallAsync(ct => ApiCalls.CreateUploadAsync(client, $"{name}.jpg", "image/jpeg", data.Length, ct));
        if (created.Status != HttpStatusCode.Created)
        {
            return new(true, user, start, DateTimeOffset.UtcNow, null, answers, slowest, null, null, data);
        }

        var put = await TryPutAsync(created.Body!, data);
        if (put == HttpStatusCode.OK)
        {
            await CallAsync(ct => ApiCalls.CompleteAsync(client, created.Id!, ct));
        }

        return new(true, user, start, DateTimeOffset.UtcNow, created.Id, answers, slowest, created.Body, put, data);
    }

    /// <summary>The client's PUT straight to S3; null when S3 could not be reached.</summary>
    private static async Task<HttpStatusCode?> TryPutAsync(JsonNode ticket, byte[] data)
    {
        try
        {
            return await TicketPuts.PutAsync(ticket, data, Timeout(20));
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task<string?> StatusAsync(HttpClient client, string id) =>
        (string?)(await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!["status"];

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(2), $"timed out waiting for {what}");
            await Task.Delay(100, Timeout());
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
