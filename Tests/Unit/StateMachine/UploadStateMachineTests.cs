using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;

namespace ImageAspire.Tests.Unit.StateMachine;

/// <summary>
/// Every storage call of every flow, failed every way a call can fail (before applying, applied with the answer lost,
/// held and applied late, applied with the SDK's retry answering), each followed by the invariant checks.
/// </summary>
public sealed class UploadStateMachineTests
{
    public static TheoryData<int, Fault> EveryCallEveryFault(int calls)
    {
        var data = new TheoryData<int, Fault>();
        for (var call = 1; call <= calls; call++)
        {
            foreach (var fault in Enum.GetValues<Fault>())
            {
                data.Add(call, fault);
            }
        }

        return data;
    }

    // A clean direct upload makes 9 calls: the original, six renditions, the create, the confirmation.
    public static TheoryData<int, Fault> DirectUploadCalls => EveryCallEveryFault(9);

    // A clean complete: get, head, claim, get the original, six renditions, the commit.
    public static TheoryData<int, Fault> CompleteCalls => EveryCallEveryFault(11);

    // A clean delete: get, discard, then list and delete in both buckets.
    public static TheoryData<int, Fault> DeleteCalls => EveryCallEveryFault(7);

    [Theory]
    [InlineData("image/heic")]
    [InlineData("image/heif; charset=binary")]
    public async Task A_presigned_ticket_for_HEIC_is_refused_as_an_upload_of_its_bytes_is(string contentType)
    {
        using var h = new Harness();

        var refusal = await Assert.ThrowsAsync<ImageRejectedException>(() => h.Tickets.CreateAsync(Harness.Owner, "iphone.heic", contentType, 1000, Harness.Token));

        Assert.Equal(RejectionReason.UnsupportedFormat, refusal.Reason);
        Assert.Equal(ImageFormats.HeicRefusal, refusal.Message);
        Assert.Empty(h.Metadata.Items);
    }

    [Fact]
    public async Task The_call_counts_the_fault_matrices_use_are_those_of_clean_runs()
    {
        using var direct = new Harness();
        await direct.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);
        Assert.Equal(9, direct.Plan.Calls);

        using var presigned = new Harness();
        var upload = await presigned.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        presigned.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);
        var before = presigned.Plan.Calls;
        await presigned.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token);
        Assert.Equal(11, presigned.Plan.Calls - before);

        before = presigned.Plan.Calls;
        Assert.True(await presigned.Library.DeleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));
        // Seven: the renditions are listed under the media key and under the sub (renditions stored before media keys).
        Assert.Equal(7, presigned.Plan.Calls - before);
    }

    [Theory]
    [MemberData(nameof(DirectUploadCalls))]
    public async Task A_direct_upload_keeps_the_invariants_whichever_call_fails(int call, Fault fault)
    {
        using var h = new Harness();
        h.Plan.FailCall(call, fault);

        var (image, failure) = await Harness.TryAsync(() => h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token));

        // (2) a success means Ready with its files, confirmed; (3) a refusal leaves nothing anyone is shown, now and
        // after late writes land.
        h.AssertReadyItemsAreWhole();
        if (failure is null)
        {
            Assert.Equal(image!.Id, Assert.Single(h.VisibleItems).Id);
            Assert.Equal(ImageStatus.Ready, h.Metadata.Peek(Harness.Owner, image.Id)!.Status);
        }
        else
        {
            Assert.Empty(h.VisibleItems);
        }

        await h.Plan.LandHeldCallsAsync();
        h.AssertReadyItemsAreWhole();
        Assert.Equal(failure is null ? 1 : 0, h.VisibleItems.Count);
        await h.SettleAsync();
        h.AssertReadyItemsAreWhole();
        h.AssertNoUnreferencedObjects();
        Assert.Equal(failure is null ? 1 : 0, h.Metadata.Items.Count(i => i.Status != ImageStatus.Discarded));
        Assert.Equal(failure is null ? 7 : 0, h.Objects.Keys.Count);
    }

    [Theory]
    [MemberData(nameof(CompleteCalls))]
    public async Task A_presigned_upload_keeps_the_invariants_whichever_call_of_complete_fails_and_a_retry_finishes_it(int call, Fault fault) =>
        await PresignedFlowAsync(call, fault, (h, upload) => h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));

    [Theory]
    [MemberData(nameof(CompleteCalls))]
    public async Task A_presigned_upload_keeps_the_invariants_whichever_call_of_the_s3_event_fails_and_a_redelivery_finishes_it(int call, Fault fault) =>
        await PresignedFlowAsync(call, fault, (h, upload) => h.Presigned.ProcessObjectCreatedAsync(Harness.Originals, upload.Image.OriginalKey, Harness.Token));

    private static async Task PresignedFlowAsync(int call, Fault fault, Func<Harness, PresignedUpload, Task<ImageRecord?>> process)
    {
        using var h = new Harness();
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);
        h.Plan.FailCall(h.Plan.Calls + call, fault);

        var (image, failure) = await Harness.TryAsync(() => process(h, upload));
        h.AssertReadyItemsAreWhole();
        if (failure is null)
        {
            Assert.Equal(ImageStatus.Ready, image!.Status);
        }

        await h.Plan.LandHeldCallsAsync();
        h.AssertReadyItemsAreWhole();

        // The retry (Lambda's redelivery, or the client's complete after Retry-After) finishes the work.
        h.Time.Advance(Harness.ClaimTimeout + TimeSpan.FromSeconds(1));
        var retried = await process(h, upload);
        Assert.Equal(ImageStatus.Ready, retried!.Status);
        h.AssertReadyItemsAreWhole();

        await h.SettleAsync();
        h.AssertReadyItemsAreWhole();
        h.AssertNoUnreferencedObjects();
        Assert.Equal(ImageStatus.Ready, h.Metadata.Peek(Harness.Owner, upload.Image.Id)!.Status);
        Assert.Equal(7, h.Objects.Keys.Count);
    }

    // API Gateway gives up after 29 s; an answer must come before it, with room for the rest of the request.
    private static readonly TimeSpan AnswerLimit = TimeSpan.FromSeconds(27);

    public static TheoryData<string, int> EveryFlowEveryStallPoint()
    {
        var data = new TheoryData<string, int>();
        foreach (var (flow, calls) in new[] { ("direct", 8), ("complete", 11), ("event", 11) })
        {
            for (var call = 1; call <= calls; call++)
            {
                data.Add(flow, call);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryFlowEveryStallPoint))]
    public async Task An_upload_answers_before_API_Gateways_timeout_whichever_call_storage_stops_answering_at(string flow, int call)
    {
        using var h = new Harness();
        PresignedUpload? upload = null;
        if (flow != "direct")
        {
            upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
            h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);
        }

        async Task<ImageRecord?> RunAsync() => flow switch
        {
            "direct" => await h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token),
            "complete" => await h.Presigned.CompleteAsync(Harness.Owner, upload!.Image.Id, Harness.Token),
            _ => await h.Presigned.ProcessObjectCreatedAsync(Harness.Originals, upload!.Image.OriginalKey, Harness.Token),
        };

        h.Plan.StallAfterCall = h.Plan.Calls + call - 1;
        var started = h.Time.GetUtcNow();
        var (_, failure) = await Harness.TryAsync(RunAsync);
        var took = h.Time.GetUtcNow() - started;

        Assert.True(took <= AnswerLimit, $"the answer took {took.TotalSeconds:0.#} s of storage stalls");
        Assert.True(failure is TimeoutException, $"a stall must end as a timeout (503), not {failure?.GetType().Name ?? "a success"}");
        h.AssertReadyItemsAreWhole();

        // Storage answers again: the retry finishes the work and nothing is left behind.
        h.Plan.StallAfterCall = null;
        h.Time.Advance(Harness.ClaimTimeout + TimeSpan.FromSeconds(1));
        var retried = await RunAsync();
        Assert.Equal(ImageStatus.Ready, retried!.Status);
        await h.SettleAsync();
        h.AssertReadyItemsAreWhole();
        h.AssertNoUnreferencedObjects();
        Assert.Equal(7, h.Objects.Keys.Count);
    }

    [Theory]
    [MemberData(nameof(DeleteCalls))]
    public async Task A_delete_keeps_the_invariants_whichever_call_fails_and_a_repeat_finishes_it(int call, Fault fault)
    {
        using var h = new Harness();
        var image = await h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);
        h.Plan.FailCall(h.Plan.Calls + call, fault);

        var (deleted, failure) = await Harness.TryAsync(() => h.Library.DeleteAsync(Harness.Owner, image.Id, Harness.Token));
        h.AssertReadyItemsAreWhole();
        Assert.True(failure is not null || deleted);
        await h.Plan.LandHeldCallsAsync();
        h.AssertReadyItemsAreWhole();

        // The user sees the image gone, or deletes again (204, or 404 once it is gone).
        await h.Library.DeleteAsync(Harness.Owner, image.Id, Harness.Token);
        Assert.Null(await h.Library.GetAsync(Harness.Owner, image.Id, Harness.Token));
        await h.SettleAsync();
        Assert.Empty(h.Objects.Keys);
    }

    [Theory]
    [MemberData(nameof(CompleteCalls))]
    public async Task A_refused_presigned_upload_ends_failed_without_its_original_whichever_call_fails(int call, Fault fault)
    {
        using var h = new Harness();
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "c.jpg", "image/jpeg", FakePipeline.Corrupt.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Corrupt);
        h.Plan.FailCall(h.Plan.Calls + call, fault);

        await Harness.TryAsync(() => h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));
        await h.Plan.LandHeldCallsAsync();
        h.Time.Advance(Harness.ClaimTimeout + TimeSpan.FromSeconds(1));
        var (retried, _) = await Harness.TryAsync(() => h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));
        Assert.True(retried is { Status: ImageStatus.Failed } || h.Metadata.Peek(Harness.Owner, upload.Image.Id)!.Status == ImageStatus.Failed);

        await h.SettleAsync();
        Assert.Equal(ImageStatus.Failed, (await h.Library.GetAsync(Harness.Owner, upload.Image.Id, Harness.Token))!.Status);
        Assert.Empty(h.Objects.Keys);
    }

    [Fact]
    public async Task A_create_held_while_the_table_stays_down_is_never_shown_and_is_discarded_from_what_is_stored_alone()
    {
        using var h = new Harness();
        // The table goes down as the create is held: the resolver cannot learn the outcome within its budget.
        h.Plan.FailCall(8, Fault.HoldAndApplyLate);
        h.Plan.DownAfterCall = 8;
        var upload = h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);
        using var clock = AdvanceClockUntil(h, upload);
        var failure = await Assert.ThrowsAsync<UnknownOutcomeException>(() => upload);
        Assert.Contains("will not appear", failure.Message, StringComparison.Ordinal);
        Assert.NotNull(failure.InnerException);

        // The process that refused it is gone: nothing of it is used below, and it kept nothing in memory. The held
        // create lands late: a whole Ready item, but unconfirmed, so nobody is shown it.
        await h.Plan.LandHeldCallsAsync();
        h.Plan.Down = false;
        var landed = Assert.Single(h.Metadata.Items, i => i.Status == ImageStatus.Ready);
        Assert.NotNull(landed.ConfirmBy);
        h.AssertReadyItemsAreWhole();
        Assert.Empty(h.VisibleItems);
        Assert.Null(await h.Library.GetAsync(Harness.Owner, landed.Id, Harness.Token));
        Assert.Empty((await h.Library.ListAsync(Harness.Owner, 10, null, Harness.Token)).Items);

        // The scheduled sweep finds it from what is stored and discards it, objects and all.
        await h.SettleAsync();
        Assert.DoesNotContain(h.Metadata.Items, i => i.Status != ImageStatus.Discarded);
        Assert.Empty(h.Objects.Keys);
    }

    [Fact]
    public async Task A_confirmation_that_lands_before_the_sweep_keeps_the_image_and_one_that_lands_after_changes_nothing()
    {
        using var h = new Harness();
        var stored = await h.Direct.StoreAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);
        h.Time.Advance(new StorageOptions().Deadlines.ConfirmWindow + Harness.SweeperSettings.Grace + TimeSpan.FromSeconds(1));

        // Landed first (a slow caller): the sweep's discard is conditional on the unconfirmed version, so it keeps it.
        var confirmed = await h.Direct.ConfirmAsync(stored);
        await h.Sweeper.SweepAsync(Harness.Token);
        Assert.Equal(confirmed.Id, Assert.Single(h.VisibleItems).Id);
        h.AssertReadyItemsAreWhole();

        // Discarded first: a confirmation held until after the sweep fails its condition, and the caller is told so.
        var late = await h.Direct.StoreAsync(Harness.Owner, "b.jpg", FakePipeline.Good, Harness.Token);
        h.Time.Advance(new StorageOptions().Deadlines.ConfirmWindow + Harness.SweeperSettings.Grace + TimeSpan.FromSeconds(1));
        var report = await h.Sweeper.SweepAsync(Harness.Token);
        Assert.Equal(1, report.UnconfirmedDiscarded);
        var refused = await Assert.ThrowsAsync<UnknownOutcomeException>(() => h.Direct.ConfirmAsync(late));
        Assert.Contains("nothing was kept", refused.Message, StringComparison.Ordinal);
        Assert.Equal(confirmed.Id, Assert.Single(h.VisibleItems).Id);
        await h.SettleAsync();
        h.AssertNoUnreferencedObjects();
    }

    [Fact]
    public async Task A_worker_whose_claim_was_taken_over_cannot_commit_and_removes_only_its_own_attempt()
    {
        using var h = new Harness();
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);

        // Worker A's commit is held past the claim timeout; worker B takes over and commits; then A's commit lands late.
        var first = h.Plan.Calls;
        h.Plan.FailCall(first + 11, Fault.HoldAndApplyLate);
        h.Plan.Down = false;
        var a = Harness.TryAsync(() => h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));
        var (_, failure) = await a;
        Assert.NotNull(failure);

        h.Time.Advance(Harness.ClaimTimeout + TimeSpan.FromSeconds(1));
        var b = await h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token);
        Assert.Equal(ImageStatus.Ready, b!.Status);
        await h.Plan.LandHeldCallsAsync();

        var stored = h.Metadata.Peek(Harness.Owner, upload.Image.Id)!;
        Assert.Equal(b.Attempt, stored.Attempt);
        h.AssertReadyItemsAreWhole();
        await h.SettleAsync();
        h.AssertNoUnreferencedObjects();
        Assert.Equal(7, h.Objects.Keys.Count);
    }

    [Fact]
    public async Task A_worker_whose_claim_failed_while_another_claimed_does_not_release_the_other_workers_claim()
    {
        using var h = new Harness();
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);
        var pending = h.Metadata.Peek(Harness.Owner, upload.Image.Id)!;
        var other = UploadRules.Claim(pending, "otherworker1", h.Time.GetUtcNow()) with { Version = pending.Version + 1 };

        // Our claim (the 3rd call of complete) is reset before it is applied, just as another worker's claim lands.
        h.Plan.FailCall(h.Plan.Calls + 3, Fault.FailBeforeApplying, () => h.Metadata.Put(other));
        var (_, failure) = await Harness.TryAsync(() => h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));

        Assert.NotNull(failure);
        Assert.Equal(other, h.Metadata.Peek(Harness.Owner, upload.Image.Id));
    }

    /// <summary>Moves the fake clock on while <paramref name="until"/> runs, so budgets and backoffs elapse.</summary>
    private static CancellationTokenSource AdvanceClockUntil(Harness h, Task until)
    {
        var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            while (!until.IsCompleted && !stop.IsCancellationRequested)
            {
                h.Time.Advance(TimeSpan.FromMilliseconds(250));
                await Task.Delay(1, CancellationToken.None);
            }
        }, CancellationToken.None);
        return stop;
    }
}
