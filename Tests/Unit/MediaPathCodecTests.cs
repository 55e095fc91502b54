using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Unit.StateMachine;

namespace ImageAspire.Tests.Unit;

/// <summary>Opaque media keys: one per owner, no owner id in them, readable back only with the key that made them.</summary>
public sealed class MediaPathCodecTests
{
    private static readonly MediaPathCodec Codec = new(Convert.FromBase64String(TestMedia.PathKey));
    private const string Sub = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

    [Fact]
    public void A_media_key_is_stable_opaque_and_reads_back_to_its_owner()
    {
        var key = Codec.Encode(Sub);
        Assert.Equal(key, Codec.Encode(Sub));
        Assert.NotEqual(key, Codec.Encode("3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6c"));
        Assert.DoesNotContain(Sub, key, StringComparison.Ordinal);
        Assert.DoesNotContain("3f2a9c1e", key, StringComparison.Ordinal);
        Assert.True(MediaPathCodec.LooksLikeMediaKey(key));
        Assert.True(ImageKeys.IsSafeOwner(key));
        Assert.True(Codec.TryDecode(key, out var owner));
        Assert.Equal(Sub, owner);
    }

    [Fact]
    public void A_changed_key_or_another_path_key_reads_nothing_and_subs_never_look_like_keys()
    {
        var key = Codec.Encode(Sub);
        foreach (var position in new[] { 1, key.Length / 2, key.Length - 1 })
        {
            var changed = key[..position] + (key[position] == 'a' ? 'b' : 'a') + key[(position + 1)..];
            Assert.False(Codec.TryDecode(changed, out _), $"changed at {position}");
        }

        var other = new MediaPathCodec(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        Assert.False(other.TryDecode(key, out _));
        Assert.False(MediaPathCodec.LooksLikeMediaKey(Sub));
        Assert.False(MediaPathCodec.LooksLikeMediaKey("owner-1"));
        Assert.Throws<ArgumentException>(() => new MediaPathCodec(new byte[16]));
    }

    [Fact]
    public async Task The_sweeper_keeps_renditions_under_a_media_key_it_cannot_read_and_removes_legacy_orphans()
    {
        using var h = new Harness();
        var id = ImageId.New(h.Time.GetUtcNow());
        var foreign = ImageKeys.Rendition(new MediaPathCodec(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).Encode(Harness.Owner), id, "attempt00001", "thumb", EncodedFormat.Jpeg);
        var legacyOrphan = ImageKeys.Rendition(Harness.Owner, id, "attempt00001", "thumb", EncodedFormat.Jpeg);
        h.Objects.Put(Harness.Renditions, foreign, [1]);
        h.Objects.Put(Harness.Renditions, legacyOrphan, [1]);

        await h.SettleAsync();

        Assert.True(h.Objects.Exists(Harness.Renditions, foreign), "a rendition whose owner is unknown was removed");
        Assert.False(h.Objects.Exists(Harness.Renditions, legacyOrphan), "an unreferenced rendition stored under a sub stayed");
    }

    [Fact]
    public async Task Renditions_are_stored_under_the_owners_media_key_and_delete_removes_them_and_legacy_ones()
    {
        using var h = new Harness();
        var image = await h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);
        var mediaKey = await h.Media.MediaKeyOfAsync(Harness.Owner, Harness.Token);
        Assert.All(image.Renditions, r => Assert.StartsWith($"renditions/{mediaKey}/{image.Id}/", r.Key, StringComparison.Ordinal));
        var legacy = ImageKeys.Rendition(Harness.Owner, image.Id, "attempt00001", "thumb", EncodedFormat.Jpeg);
        h.Objects.Put(Harness.Renditions, legacy, [1]);

        await h.Library.DeleteAsync(Harness.Owner, image.Id, Harness.Token);

        Assert.Empty(h.Objects.Keys);
    }
}
