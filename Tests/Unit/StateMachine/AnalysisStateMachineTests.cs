using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Storage;

namespace ImageAspire.Tests.Unit.StateMachine;

/// <summary>
/// The analysis step on the fake clock: done, failed, due, retried, given up; the label entries it writes and the
/// label listing that reads through them. The invariants are <see cref="ImageAnalyses"/>'s.
/// </summary>
public sealed class AnalysisStateMachineTests
{
    private static readonly ImageAnalysis Cat = new(AnalysisStatus.Done, [new DetectedLabel("Cat", 96, ["Animal", "Pet"], [])], [], [], false, "fake", null);
    private static readonly ImageAnalysis Throttled = ImageAnalysis.Failed("ThrottlingException: Slow down", retryable: true);

    [Fact]
    public async Task A_done_analysis_is_stored_with_an_entry_per_label_and_parent_and_nothing_due()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);

        var image = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);

        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal(AnalysisStatus.Done, stored.Analysis!.Status);
        Assert.Null(stored.AnalysisDueAt);
        Assert.Equal(["animal", "cat", "pet"], h.Labels.Entries.Where(e => e.Id == image.Id).Select(e => e.Label).Order());
    }

    [Fact]
    public async Task A_retryable_failure_is_due_later_and_the_retry_stores_the_analysis_and_its_entries()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var image = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);
        Assert.Equal(ImageStatus.Ready, image.Status);
        Assert.Equal(h.Time.GetUtcNow() + Harness.AnalysisSettings.RetryDelay, h.Metadata.Peek(Harness.Owner, image.Id)!.AnalysisDueAt);
        Assert.Empty(h.Labels.Entries);

        // Not due yet: nothing is tried.
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        Assert.Equal(0, await h.Analyses.RetryDueAsync(10, Harness.Token));
        Assert.Equal(1, h.Analyzer.Calls);

        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));

        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal(AnalysisStatus.Done, stored.Analysis!.Status);
        Assert.Equal(2, stored.Analysis.Attempts);
        Assert.Null(stored.AnalysisDueAt);
        Assert.Contains(h.Labels.Entries, e => e.Id == image.Id && e.Label == "cat");
        var found = await h.Library.ListByLabelAsync(Harness.Owner, "CAT", 10, null, Harness.Token);
        Assert.Equal(image.Id, Assert.Single(found.Items).Id);
    }

    [Fact]
    public async Task Each_failure_doubles_the_wait_and_after_five_tries_the_analysis_stays_failed()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var image = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);
        var delay = Harness.AnalysisSettings.RetryDelay;

        for (var attempt = 2; attempt <= ImageAnalysis.MaxAttempts; attempt++)
        {
            var dueAt = h.Metadata.Peek(Harness.Owner, image.Id)!.AnalysisDueAt!.Value;
            h.Time.Advance(dueAt - h.Time.GetUtcNow());
            Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));
            var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
            Assert.Equal(attempt, stored.Analysis!.Attempts);
            if (attempt < ImageAnalysis.MaxAttempts)
            {
                Assert.Equal(h.Time.GetUtcNow() + (delay * Math.Pow(2, attempt - 1)), stored.AnalysisDueAt);
            }
        }

        var last = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal(AnalysisStatus.Failed, last.Analysis!.Status);
        Assert.Null(last.AnalysisDueAt);
        h.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await h.Analyses.RetryDueAsync(10, Harness.Token));
        Assert.Equal(ImageAnalysis.MaxAttempts, h.Analyzer.Calls);
    }

    [Fact]
    public async Task Of_two_sweeps_that_find_an_image_due_one_calls_Rekognition_and_a_claim_whose_sweep_died_lapses()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var image = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        var twinRan = false;
        var twinRetried = -1;
        h.Analyzer.Answer = async (_, _) =>
        {
            // Another sandbox's sweep runs while this one waits for Rekognition.
            if (!twinRan)
            {
                twinRan = true;
                twinRetried = await h.Analyses.RetryDueAsync(10, Harness.Token);
            }

            return Cat;
        };

        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));

        Assert.Equal(2, h.Analyzer.Calls); // the upload's and one retry's
        Assert.Equal(0, twinRetried);
        Assert.Equal(AnalysisStatus.Done, h.Metadata.Peek(Harness.Owner, image.Id)!.Analysis!.Status);

        // A sweep that claims and dies (its Rekognition call never returns): the image is due again once the claim lapses.
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var other = await h.Direct.UploadAsync(Harness.Owner, "dog.jpg", FakePipeline.Good, Harness.Token);
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        using (var dies = new CancellationTokenSource())
        {
            h.Analyzer.Answer = async (_, cancellationToken) =>
            {
                await dies.CancelAsync();
                cancellationToken.ThrowIfCancellationRequested();
                return Cat;
            };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Analyses.RetryDueAsync(10, dies.Token));
        }

        var claimedUntil = h.Metadata.Peek(Harness.Owner, other.Id)!.AnalysisDueAt!.Value;
        Assert.True(claimedUntil > h.Time.GetUtcNow());
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        Assert.Equal(0, await h.Analyses.RetryDueAsync(10, Harness.Token));
        h.Time.Advance(claimedUntil - h.Time.GetUtcNow());
        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));
        Assert.Equal(AnalysisStatus.Done, h.Metadata.Peek(Harness.Owner, other.Id)!.Analysis!.Status);
    }

    [Fact]
    public async Task A_refused_image_is_not_tried_again()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(ImageAnalysis.Failed("InvalidImageFormatException: Request has invalid image format"));

        var image = await h.Direct.UploadAsync(Harness.Owner, "odd.jpg", FakePipeline.Good, Harness.Token);

        Assert.Null(h.Metadata.Peek(Harness.Owner, image.Id)!.AnalysisDueAt);
        h.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await h.Analyses.RetryDueAsync(10, Harness.Token));
    }

    [Fact]
    public async Task Label_entries_that_could_not_be_written_keep_the_image_due_and_the_retry_writes_only_them()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        h.Labels.Down = true;

        var image = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);
        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal(AnalysisStatus.Done, stored.Analysis!.Status);
        Assert.NotNull(stored.AnalysisDueAt);

        h.Labels.Down = false;
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));

        Assert.Equal(1, h.Analyzer.Calls);
        Assert.Null(h.Metadata.Peek(Harness.Owner, image.Id)!.AnalysisDueAt);
        Assert.Equal(3, h.Labels.Entries.Count(e => e.Id == image.Id));
    }

    [Fact]
    public async Task A_presigned_upload_records_its_analysis_the_same_way()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);

        var image = await h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token);

        Assert.Equal(ImageStatus.Ready, image!.Status);
        Assert.NotNull(h.Metadata.Peek(Harness.Owner, image.Id)!.AnalysisDueAt);
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));
        Assert.Equal(AnalysisStatus.Done, h.Metadata.Peek(Harness.Owner, image.Id)!.Analysis!.Status);
    }

    [Fact]
    public async Task An_image_deleted_while_its_retry_runs_stays_deleted_and_its_new_entries_show_nothing()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var image = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        h.Analyzer.Answer = async (_, _) =>
        {
            // The owner deletes the image while Rekognition looks at it.
            Assert.True(await h.Library.DeleteAsync(Harness.Owner, image.Id, Harness.Token));
            return Cat;
        };

        await h.Analyses.RetryDueAsync(10, Harness.Token);

        Assert.Equal(ImageStatus.Discarded, h.Metadata.Peek(Harness.Owner, image.Id)!.Status);
        Assert.Contains(h.Labels.Entries, e => e.Id == image.Id);
        Assert.Empty((await h.Library.ListByLabelAsync(Harness.Owner, "cat", 10, null, Harness.Token)).Items);
        // The listing removed the entry it found stale.
        Assert.DoesNotContain(h.Labels.Entries, e => e.Id == image.Id && e.Label == "cat");
    }

    [Fact]
    public async Task Deleting_an_image_removes_its_entries_and_the_label_listing_never_shows_another_users_image()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        var mine = await h.Direct.UploadAsync(Harness.Owner, "cat.jpg", FakePipeline.Good, Harness.Token);
        var theirs = await h.Direct.UploadAsync("owner-2", "cat.jpg", FakePipeline.Good, Harness.Token);

        var byParent = await h.Library.ListByLabelAsync(Harness.Owner, "animal", 10, null, Harness.Token);
        Assert.Equal(mine.Id, Assert.Single(byParent.Items).Id);

        Assert.True(await h.Library.DeleteAsync(Harness.Owner, mine.Id, Harness.Token));
        Assert.DoesNotContain(h.Labels.Entries, e => e.Id == mine.Id);
        Assert.Empty((await h.Library.ListByLabelAsync(Harness.Owner, "cat", 10, null, Harness.Token)).Items);
        Assert.Equal(theirs.Id, Assert.Single((await h.Library.ListByLabelAsync("owner-2", "cat", 10, null, Harness.Token)).Items).Id);
    }

    [Fact]
    public async Task The_square_renditions_are_cut_around_the_faces_found_and_without_them_when_the_analysis_is_slow()
    {
        using var h = new Harness();
        var face = new BoundingBox(0.8, 0.3, 0.1, 0.2);
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat with { Faces = [new DetectedFace(face, 99)] });

        await h.Direct.UploadAsync(Harness.Owner, "face.jpg", FakePipeline.Good, Harness.Token);
        Assert.Equal(face, Assert.Single(Assert.Single(h.Pipeline.CropFaces)));

        var slow = new TaskCompletionSource<ImageAnalysis>();
        h.Analyzer.Answer = (_, _) => slow.Task;
        var upload = Harness.TryAsync(async () => await h.Direct.UploadAsync(Harness.Owner, "face.jpg", FakePipeline.Good, Harness.Token));
        for (var step = 0; step < 100 && h.Pipeline.CropFaces.Count < 2; step++)
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2, Harness.Token);
        }

        // The face wait ran out: cut without faces (the attention crop), while the analysis goes on.
        Assert.Empty(h.Pipeline.CropFaces[1]);
        slow.SetResult(Cat);
        var (image, failure) = await upload;
        Assert.Null(failure);
        await h.FollowUps.DrainAsync(Harness.Token);
        Assert.Equal(AnalysisStatus.Done, h.Metadata.Peek(Harness.Owner, image!.Id)!.Analysis!.Status);
    }

    private static TimeSpan Lease => new AnalysisOptions().Timeout + new StorageOptions().Deadlines.WorstAnswer;

    [Fact]
    public async Task An_upload_is_answered_before_a_slow_analysis_which_is_stored_with_its_entries_when_it_ends()
    {
        using var h = new Harness();
        var slow = SlowAnalysis(h);
        var image = await AnsweredAsync(h, "cat.jpg");
        Assert.Equal((ImageStatus.Ready, AnalysisStatus.Pending, 0), (image!.Status, image.Analysis!.Status, image.Analysis.Attempts));
        // Due, once the run still under way has had its time.
        Assert.Equal(image.UpdatedAt + Lease, h.Metadata.Peek(Harness.Owner, image.Id)!.AnalysisDueAt);
        Assert.Equal(1, h.FollowUps.Running);

        slow.SetResult(Cat);
        await h.FollowUps.DrainAsync(Harness.Token);

        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal((AnalysisStatus.Done, 1), (stored.Analysis!.Status, stored.Analysis.Attempts));
        Assert.Null(stored.AnalysisDueAt);
        Assert.Equal(0, h.FollowUps.Running);
        Assert.Equal(image.Id, Assert.Single((await h.Library.ListByLabelAsync(Harness.Owner, "pet", 10, null, Harness.Token)).Items).Id);
        Assert.Equal(1, h.Analyzer.Calls);
    }

    [Fact]
    public async Task An_analysis_whose_process_died_after_the_answer_is_done_by_the_sweep_once_its_lease_lapses()
    {
        using var h = new Harness();
        // The run never ends: the process that held it is gone.
        h.Analyzer.Answer = (_, _) => new TaskCompletionSource<ImageAnalysis>().Task;
        var image = await AnsweredAsync(h, "cat.jpg");
        Assert.Equal(AnalysisStatus.Pending, image.Analysis!.Status);

        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        h.Time.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await h.Analyses.RetryDueAsync(10, Harness.Token));
        Assert.Equal(1, h.Analyzer.Calls);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));
        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal((AnalysisStatus.Done, 1), (stored.Analysis!.Status, stored.Analysis.Attempts));
        Assert.Null(stored.AnalysisDueAt);
    }

    [Fact]
    public async Task An_analysis_that_ends_after_its_image_was_deleted_leaves_it_deleted_and_one_that_cannot_be_stored_stays_due()
    {
        using var h = new Harness();
        var slow = SlowAnalysis(h);
        var deleted = await AnsweredAsync(h, "a.jpg");
        Assert.True(await h.Library.DeleteAsync(Harness.Owner, deleted.Id, Harness.Token));
        slow.SetResult(Cat);
        await h.FollowUps.DrainAsync(Harness.Token);
        Assert.Equal(ImageStatus.Discarded, h.Metadata.Peek(Harness.Owner, deleted.Id)!.Status);
        Assert.Empty((await h.Library.ListByLabelAsync(Harness.Owner, "cat", 10, null, Harness.Token)).Items);

        // Storage down when the run ends: the image keeps Pending and stays due, and the sweep stores it later.
        var late = SlowAnalysis(h);
        var kept = await AnsweredAsync(h, "b.jpg");
        h.Plan.Down = true;
        late.SetResult(Cat);
        await h.FollowUps.DrainAsync(Harness.Token);
        h.Plan.Down = false;
        var pending = h.Metadata.Peek(Harness.Owner, kept.Id)!;
        Assert.Equal(AnalysisStatus.Pending, pending.Analysis!.Status);
        Assert.NotNull(pending.AnalysisDueAt);

        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        h.Time.Advance(Lease);
        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));
        Assert.Equal(AnalysisStatus.Done, h.Metadata.Peek(Harness.Owner, kept.Id)!.Analysis!.Status);
    }

    private static readonly BoundingBox Face = new(0.8, 0.3, 0.1, 0.2);

    [Fact]
    public async Task Faces_found_after_the_squares_were_cut_make_the_renditions_again_under_a_new_attempt_and_the_old_ones_go()
    {
        using var h = new Harness();
        var slow = SlowAnalysis(h);
        var image = await AnsweredAsync(h, "face.jpg");
        Assert.Empty(Assert.Single(h.Pipeline.CropFaces));
        Assert.False(image.FramedOnFaces);

        slow.SetResult(Cat with { Faces = [new DetectedFace(Face, 99)] });
        await h.FollowUps.DrainAsync(Harness.Token);

        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.True(stored.FramedOnFaces);
        Assert.Equal(Face, Assert.Single(h.Pipeline.CropFaces[1]));
        Assert.NotEqual(image.Attempt, stored.Attempt);
        Assert.All(stored.Renditions, r => Assert.Contains($"/{stored.Attempt}/", r.Key, StringComparison.Ordinal));
        Assert.Equal(image.Renditions.Select(r => r.Name), stored.Renditions.Select(r => r.Name));
        Assert.Null(stored.AnalysisDueAt);
        // The renditions it named before are gone at once, not left for the sweep.
        Assert.All(image.Renditions, r => Assert.False(h.Objects.Exists(Harness.Renditions, r.Key), $"{r.Key} stayed"));
        h.AssertReadyItemsAreWhole();
        h.AssertNoUnreferencedObjects();
    }

    [Fact]
    public async Task A_retry_that_finds_faces_reframes_the_squares_and_one_that_loses_to_a_delete_leaves_nothing_behind()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var image = await h.Direct.UploadAsync(Harness.Owner, "face.jpg", FakePipeline.Good, Harness.Token);
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat with { Faces = [new DetectedFace(Face, 99)] });
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);

        Assert.Equal(1, await h.Analyses.RetryDueAsync(10, Harness.Token));
        var stored = h.Metadata.Peek(Harness.Owner, image.Id)!;
        Assert.Equal((AnalysisStatus.Done, true), (stored.Analysis!.Status, stored.FramedOnFaces));
        Assert.Equal(Face, Assert.Single(h.Pipeline.CropFaces.Last()));
        h.AssertReadyItemsAreWhole();
        h.AssertNoUnreferencedObjects();

        // Deleted while its renditions are made again: the new ones go, and the image stays deleted.
        h.Analyzer.Answer = (_, _) => Task.FromResult(Throttled);
        var other = await h.Direct.UploadAsync(Harness.Owner, "other.jpg", FakePipeline.Good, Harness.Token);
        h.Analyzer.Answer = async (_, _) =>
        {
            Assert.True(await h.Library.DeleteAsync(Harness.Owner, other.Id, Harness.Token));
            return Cat with { Faces = [new DetectedFace(Face, 99)] };
        };
        h.Time.Advance(Harness.AnalysisSettings.RetryDelay);
        await h.Analyses.RetryDueAsync(10, Harness.Token);
        Assert.Equal(ImageStatus.Discarded, h.Metadata.Peek(Harness.Owner, other.Id)!.Status);
        Assert.DoesNotContain(h.Objects.Keys, k => k.Key.Contains(other.Id, StringComparison.Ordinal));

        // Its original gone: its renditions stay as they are, nothing is written, and it is not due again for them.
        h.Analyzer.Answer = (_, _) => Task.FromResult(Cat);
        var orphaned = await h.Direct.UploadAsync(Harness.Owner, "gone.jpg", FakePipeline.Good, Harness.Token);
        await h.Objects.DeleteAsync(Harness.Originals, [orphaned.OriginalKey], Harness.Token);
        var keysBefore = h.Objects.Keys.Count;
        var withFaces = Cat with { Faces = [new DetectedFace(Face, 99)] };
        var (unchanged, staged) = await h.Reframer.ReframeAsync(orphaned, [Face], Harness.Token);
        Assert.Null(staged);
        Assert.Equal((orphaned.Attempt, orphaned.Renditions), (unchanged.Attempt, unchanged.Renditions));
        Assert.False(SquareReframer.IsDue(unchanged, withFaces));
        Assert.Equal(keysBefore, h.Objects.Keys.Count);
    }

    /// <summary>Analyses that end when the test says.</summary>
    private static TaskCompletionSource<ImageAnalysis> SlowAnalysis(Harness h)
    {
        var slow = new TaskCompletionSource<ImageAnalysis>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Analyzer.Answer = (_, _) => slow.Task;
        return slow;
    }

    /// <summary>An upload whose analysis has not ended, answered once the face wait (its only wait for it) runs out on the fake clock.</summary>
    private static async Task<ImageRecord> AnsweredAsync(Harness h, string fileName)
    {
        var upload = Harness.TryAsync(async () => await h.Direct.UploadAsync(Harness.Owner, fileName, FakePipeline.Good, Harness.Token));
        for (var step = 0; step < 100 && !upload.IsCompleted; step++)
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2, Harness.Token);
        }

        var (image, failure) = await upload;
        Assert.Null(failure);
        return image!;
    }
}
