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
    public void In_Lambda_nothing_runs_in_the_background_and_in_web_mode_the_sweeper_does()
    {
        static (IServiceCollection Services, SweeperOptions Options) Build(Dictionary<string, string?> settings)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddSweeper(configuration);
            using var provider = services.BuildServiceProvider();
            return (services, provider.GetRequiredService<IOptions<SweeperOptions>>().Value);
        }

        static bool HasSweeperService(IServiceCollection services) =>
            services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(SweeperService));

        // Configured on, in Lambda: no hosted service at all (the schedule sweeps; refusals need no process to settle them).
        var lambda = Build(new() { ["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001", ["Sweeper:Enabled"] = "true" });
        Assert.False(lambda.Options.Enabled, "a Lambda sandbox would sweep on its own timer");
        Assert.False(HasSweeperService(lambda.Services));

        var web = Build([]);
        Assert.True(web.Options.Enabled);
        Assert.True(HasSweeperService(web.Services));
        Assert.False(HasSweeperService(Build(new() { ["Sweeper:Enabled"] = "false" }).Services));
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
