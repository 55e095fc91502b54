using ImageAspire.ImageService.Images;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Unit.StateMachine;

/// <summary>The background sweeper outlives a failure of any kind: it logs, and sweeps again at the next interval.</summary>
public sealed class SweeperServiceTests
{
    [Fact]
    public async Task A_bug_in_a_sweep_is_logged_and_the_next_sweep_runs()
    {
        using var h = new Harness();
        var options = new SweeperOptions { Interval = TimeSpan.FromMinutes(1), RetryInterval = TimeSpan.FromSeconds(5), Grace = TimeSpan.FromMinutes(5) };
        var logger = new CollectingLogger();
        using var service = new SweeperService(h.Sweeper, h.Analyses, Options.Create(options), h.Time, logger);
        // The first storage call of the first sweep throws what no storage failure is: a bug.
        h.Plan.FailCall(h.Plan.Calls + 1, Fault.FailBeforeApplying, () => throw new InvalidOperationException("a bug in the sweep"));

        await service.StartAsync(Harness.Token);
        for (var step = 0; step < 200 && h.Plan.Calls < 3; step++)
        {
            h.Time.Advance(options.RetryInterval);
            await Task.Delay(5, Harness.Token);
        }

        Assert.True(h.Plan.Calls >= 3, $"no sweep ran after the failed one ({h.Plan.Calls} storage calls)");
        Assert.False(service.ExecuteTask!.IsCompleted, "the sweeper stopped");
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException);
        await service.StopAsync(Harness.Token);
    }

    [Fact]
    public async Task In_Lambda_the_background_service_settles_refusals_but_never_sweeps_the_buckets()
    {
        var lambda = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001", ["Sweeper:Enabled"] = "true" }).Build();
        using var provider = new Microsoft.Extensions.DependencyInjection.ServiceCollection()
            .AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(lambda)
            .AddSweeper(lambda)
            .BuildServiceProvider();
        var configured = provider.GetRequiredService<IOptions<SweeperOptions>>().Value;
        Assert.False(configured.Enabled, "a Lambda sandbox would sweep on its own timer");

        using var h = new Harness();
        var options = new SweeperOptions { Enabled = configured.Enabled, Interval = TimeSpan.FromMinutes(1), RetryInterval = TimeSpan.FromSeconds(5) };
        using var service = new SweeperService(h.Sweeper, h.Analyses, Options.Create(options), h.Time, new CollectingLogger());
        h.Refused.Add(Harness.Owner, "01JREFUSEDUPLOAD0000000000");
        await service.StartAsync(Harness.Token);
        for (var step = 0; step < 60; step++)
        {
            h.Time.Advance(options.RetryInterval);
            await Task.Delay(5, Harness.Token);
        }

        Assert.Equal(0, h.Refused.Count);
        // A sweep lists the buckets' whole prefixes; settling a refusal only looks at its own image.
        Assert.DoesNotContain(h.Plan.Log, call => call.EndsWith($"s3.list {ImageKeys.OriginalsPrefix}", StringComparison.Ordinal)
            || call.EndsWith($"s3.list {ImageKeys.RenditionsPrefix}", StringComparison.Ordinal));
        Assert.NotEmpty(h.Plan.Log);
        await service.StopAsync(Harness.Token);
    }

    private sealed class CollectingLogger : ILogger<SweeperService>
    {
        private readonly Lock _lock = new();
        private readonly List<(LogLevel Level, Exception? Exception)> _entries = [];

        public IReadOnlyList<(LogLevel Level, Exception? Exception)> Entries
        {
            get
            {
                lock (_lock)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lock)
            {
                _entries.Add((logLevel, exception));
            }
        }
    }
}
