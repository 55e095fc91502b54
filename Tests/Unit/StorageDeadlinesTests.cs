using ImageAspire.ImageService.Storage;

namespace ImageAspire.Tests.Unit;

/// <summary>The one place that bounds how long a request waits on storage, and the promise it makes.</summary>
public sealed class StorageDeadlinesTests
{
    private static StorageOptions Options(Action<StorageDeadlines>? change = null)
    {
        var options = new StorageOptions { OriginalsBucket = "originals", RenditionsBucket = "renditions", Table = "images" };
        change?.Invoke(options.Deadlines);
        return options;
    }

    [Fact]
    public void The_defaults_answer_before_API_Gateway_gives_up()
    {
        var deadlines = Options().Deadlines;

        // Presigned processing: its whole budget, then resolving a lost commit, then the clean-up.
        Assert.Equal(TimeSpan.FromSeconds(27), deadlines.WorstAnswer);
        Assert.True(deadlines.WorstAnswer < StorageDeadlines.ApiGatewayTimeout);
        Assert.True(new StorageDeadlinesValidator().Validate(null, Options()).Succeeded);
        Assert.True(new StorageOptionsValidator().Validate(null, Options()).Succeeded);
    }

    [Theory]
    [InlineData(nameof(StorageDeadlines.ResolveBudget), 11)]
    [InlineData(nameof(StorageDeadlines.RemovalBudget), 8)]
    [InlineData(nameof(StorageDeadlines.WaitForOtherWorker), 14)]
    public void A_deadline_that_breaks_the_promise_is_refused_with_the_figure(string which, int seconds)
    {
        var options = Options(d =>
        {
            var value = TimeSpan.FromSeconds(seconds);
            switch (which)
            {
                case nameof(StorageDeadlines.ResolveBudget): d.ResolveBudget = value; break;
                case nameof(StorageDeadlines.RemovalBudget): d.RemovalBudget = value; break;
                default: d.WaitForOtherWorker = value; break;
            }
        });

        var result = new StorageDeadlinesValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains($"wait {options.Deadlines.WorstAnswer.TotalSeconds:0.#} s on storage; API Gateway gives up at 29 s", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_store_step_must_fit_in_the_processing_budget_that_holds_it()
    {
        var result = new StorageDeadlinesValidator().Validate(null, Options(d => { d.StoreBudget = TimeSpan.FromSeconds(16); d.ResolveBudget = TimeSpan.FromSeconds(1); }));

        Assert.True(result.Failed);
        Assert.Contains("StoreBudget", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_values_are_refused_by_the_generated_validator()
    {
        var result = new StorageOptionsValidator().Validate(null, Options(d => d.StorageRetryAfter = TimeSpan.Zero));

        Assert.True(result.Failed);
        Assert.Contains(nameof(StorageDeadlines.StorageRetryAfter), result.FailureMessage, StringComparison.Ordinal);
    }
}
