using ImageAspire.ImageService.Processing;

namespace ImageAspire.Tests.Unit;

public sealed class PipelineGateTests
{
    [Fact]
    public async Task Work_beyond_the_running_and_queued_bound_is_refused_at_once()
    {
        using var gate = new PipelineGate(Microsoft.Extensions.Options.Options.Create(new ProcessingOptions { MaxConcurrentPipelines = 1, MaxQueuedPipelines = 1 }));
        using var release = new ManualResetEventSlim();
        var running = gate.RunAsync(() => release.Wait(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken);
        var queued = gate.RunAsync(() => 2, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<PipelineBusyException>(() => gate.RunAsync(() => 3, TestContext.Current.CancellationToken));
        Assert.False(queued.IsCompleted);

        release.Set();
        Assert.True(await running);
        Assert.Equal(2, await queued);
        Assert.Equal(4, await gate.RunAsync(() => 4, TestContext.Current.CancellationToken));
    }
}
