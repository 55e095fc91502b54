using Amazon.DynamoDBv2.Model;
using ImageAspire.ImageService.Storage;

namespace ImageAspire.Tests.Unit;

/// <summary>What a throttled batch leaves undone is sent again, and only that; past the tries the batch fails as throttled.</summary>
public sealed class DynamoDbBatchesTests
{
    private static readonly string[] ThreeKeys = ["a", "b", "c"];
    private static readonly string[] TwoKeys = ["a", "b"];

    [Fact]
    public async Task What_a_batch_left_undone_is_sent_again_until_it_is_all_done()
    {
        var sent = new List<string[]>();
        await DynamoDbBatches.SendAsync(ThreeKeys, batch =>
        {
            sent.Add(batch);
            return Task.FromResult<string[]?>(batch.Length > 1 ? batch[1..] : null);
        }, tries: 4, failure: _ => "unused", TestContext.Current.CancellationToken);

        Assert.Equal([["a", "b", "c"], ["b", "c"], ["c"]], sent);
    }

    [Fact]
    public async Task A_batch_still_undone_after_its_tries_fails_as_throttled_naming_what_is_left()
    {
        var sends = 0;
        var failure = await Assert.ThrowsAsync<ProvisionedThroughputExceededException>(() => DynamoDbBatches.SendAsync(TwoKeys, batch =>
        {
            sends++;
            // The last key is throttled every time.
            return Task.FromResult<string[]?>(batch[^1..]);
        }, tries: 3, failure: undone => $"{undone.Length} left", TestContext.Current.CancellationToken));

        Assert.Equal(3, sends);
        Assert.Equal("1 left", failure.Message);
    }
}
