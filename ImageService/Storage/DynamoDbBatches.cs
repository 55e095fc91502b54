using Amazon.DynamoDBv2.Model;

namespace ImageAspire.ImageService.Storage;

/// <summary>
/// DynamoDB's batch calls answer with what they left undone when the table is throttled: that is sent again, with a
/// growing pause, a few times; then the batch fails as throttled and the caller's own retry rules apply.
/// </summary>
public static class DynamoDbBatches
{
    /// <param name="first">The whole batch.</param>
    /// <param name="send">Sends a batch; returns what it left undone, or null when it did it all.</param>
    /// <param name="tries">How many times a batch is sent at most.</param>
    /// <param name="failure">The message once the tries are used up, from what is still undone.</param>
    /// <param name="cancellationToken">Cancels the pauses (the calls take their own token).</param>
    public static async Task SendAsync<TBatch>(TBatch first, Func<TBatch, Task<TBatch?>> send, int tries, Func<TBatch, string> failure, CancellationToken cancellationToken)
        where TBatch : class
    {
        var pending = first;
        for (var sent = 1; ; sent++)
        {
            if (await send(pending) is not { } undone)
            {
                return;
            }

            if (sent == tries)
            {
                throw new ProvisionedThroughputExceededException(failure(undone));
            }

            pending = undone;
            await Task.Delay(TimeSpan.FromMilliseconds(50 << sent), cancellationToken);
        }
    }
}
