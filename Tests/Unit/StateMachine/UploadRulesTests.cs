using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;

namespace ImageAspire.Tests.Unit.StateMachine;

public sealed class UploadRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Claim = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);

    private static ImageRecord Item(ImageStatus status, string? attempt = null, DateTimeOffset? claimedAt = null, DateTimeOffset? expires = null) => new()
    {
        Owner = "o",
        Id = ImageId.New(Now),
        Status = status,
        OriginalKey = "originals/o/x.jpg",
        ContentType = "image/jpeg",
        CreatedAt = Now,
        UpdatedAt = Now,
        Attempt = attempt,
        ClaimedAt = claimedAt,
        UploadExpiresAt = expires,
    };

    [Theory]
    [InlineData(ImageStatus.Pending, 0, PendingStep.Claim)]
    [InlineData(ImageStatus.Processing, 60, PendingStep.Wait)]
    [InlineData(ImageStatus.Processing, 121, PendingStep.Claim)]
    [InlineData(ImageStatus.Ready, 0, PendingStep.Answer)]
    [InlineData(ImageStatus.Failed, 0, PendingStep.Answer)]
    [InlineData(ImageStatus.Discarded, 0, PendingStep.Answer)]
    public void The_next_step_follows_from_the_status_and_the_claims_age(ImageStatus status, int claimedSecondsAgo, PendingStep expected) =>
        Assert.Equal(expected, UploadRules.NextStep(Item(status, "a", Now.AddSeconds(-claimedSecondsAgo)), Now, Claim));

    [Fact]
    public void An_upload_reads_pending_until_its_url_and_the_claim_time_are_over_then_failed_and_a_tombstone_reads_missing()
    {
        var pending = Item(ImageStatus.Pending, expires: Now.AddMinutes(-1));
        Assert.Equal(ImageStatus.Pending, UploadRules.Effective(pending, Now, Claim)!.Status);
        Assert.Equal(ImageStatus.Failed, UploadRules.Effective(pending, Now.AddMinutes(2), Claim)!.Status);

        var abandoned = Item(ImageStatus.Processing, "a", Now.AddMinutes(-3), Now.AddMinutes(5));
        Assert.Equal(ImageStatus.Pending, UploadRules.Effective(abandoned, Now, Claim)!.Status);
        var live = Item(ImageStatus.Processing, "a", Now.AddSeconds(-10), Now.AddMinutes(5));
        Assert.Equal(ImageStatus.Processing, UploadRules.Effective(live, Now, Claim)!.Status);

        Assert.Null(UploadRules.Effective(Item(ImageStatus.Discarded), Now, Claim));
        Assert.Null(UploadRules.Effective(null, Now, Claim));
    }

    [Fact]
    public void An_attempts_objects_stay_while_the_item_names_it_and_go_once_no_commit_can_reference_them()
    {
        var old = Now - Grace - TimeSpan.FromSeconds(1);
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOf(Item(ImageStatus.Ready, "a"), "a", old, Now, Claim, Grace));
        Assert.Equal(AttemptFate.Remove, UploadRules.FateOf(Item(ImageStatus.Ready, "b"), "a", old, Now, Claim, Grace));
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOf(Item(ImageStatus.Processing, "a", Now.AddSeconds(-5)), "a", old, Now, Claim, Grace));
        Assert.Equal(AttemptFate.ReleaseThenRemove, UploadRules.FateOf(Item(ImageStatus.Processing, "a", Now.AddMinutes(-3)), "a", old, Now, Claim, Grace));
        Assert.Equal(AttemptFate.Remove, UploadRules.FateOf(Item(ImageStatus.Pending), "a", old, Now, Claim, Grace));
        Assert.Equal(AttemptFate.Remove, UploadRules.FateOf(Item(ImageStatus.Discarded), "a", old, Now, Claim, Grace));
        Assert.Equal(AttemptFate.FenceThenRemove, UploadRules.FateOf(null, "a", old, Now, Claim, Grace));

        // Within the grace nothing goes: a direct upload writes its objects before its item exists.
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOf(null, "a", Now.AddSeconds(-30), Now, Claim, Grace));

        // Renditions from before attempts existed belong to items that name no attempt.
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOf(Item(ImageStatus.Ready), string.Empty, old, Now, Claim, Grace));
    }

    [Fact]
    public void An_original_stays_with_a_live_item_and_goes_with_a_refused_deleted_or_missing_one()
    {
        var old = Now - Grace - TimeSpan.FromSeconds(1);
        const string key = "originals/o/x.jpg";
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOfOriginal(Item(ImageStatus.Pending), key, old, Now, Grace));
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOfOriginal(Item(ImageStatus.Ready), key, old, Now, Grace));
        Assert.Equal(AttemptFate.Remove, UploadRules.FateOfOriginal(Item(ImageStatus.Failed), key, old, Now, Grace));
        Assert.Equal(AttemptFate.Remove, UploadRules.FateOfOriginal(Item(ImageStatus.Discarded), key, old, Now, Grace));
        Assert.Equal(AttemptFate.FenceThenRemove, UploadRules.FateOfOriginal(null, key, old, Now, Grace));
        Assert.Equal(AttemptFate.Keep, UploadRules.FateOfOriginal(null, key, Now, Now, Grace));
    }

    [Fact]
    public void Keys_carry_owner_id_and_attempt_and_refuse_anything_else()
    {
        var id = ImageId.New(Now);
        var key = ImageKeys.Rendition("sub-1", id, "abc", "thumb", EncodedFormat.WebP);
        Assert.Equal($"renditions/sub-1/{id}/abc/thumb.webp", key);
        var opaque = new ImageAspire.ImageService.Media.MediaPathCodec(Convert.FromBase64String(TestMedia.PathKey)).Encode("sub-1");
        Assert.True(ImageKeys.TryParseRendition(ImageKeys.Rendition(opaque, id, "abc", "thumb", EncodedFormat.WebP), out var segment, out _, out _));
        Assert.Equal(opaque, segment);
        Assert.True(ImageKeys.TryParseRendition(key, out var owner, out var parsedId, out var attempt));
        Assert.Equal(("sub-1", id, "abc"), (owner, parsedId, attempt));
        Assert.True(ImageKeys.TryParseRendition($"renditions/sub-1/{id}/thumb.jpg", out _, out _, out var legacy));
        Assert.Equal(string.Empty, legacy);
        Assert.False(ImageKeys.TryParseRendition($"renditions/../{id}/a/thumb.jpg", out _, out _, out _));
        Assert.False(ImageKeys.TryParseRendition("renditions/sub-1/not-an-id/a/thumb.jpg", out _, out _, out _));

        Assert.True(ImageKeys.TryParseOriginal(ImageKeys.Original("sub-1", id, "jpg"), out owner, out parsedId));
        Assert.Equal(("sub-1", id), (owner, parsedId));
        Assert.False(ImageKeys.TryParseOriginal($"originals/sub-1/{id}.exe", out _, out _));
        Assert.NotEqual(ImageKeys.NewAttempt(), ImageKeys.NewAttempt());
        Assert.Matches("^[a-z2-7]{12}$", ImageKeys.NewAttempt());
    }
}
