using ImageAspire.LocalEdge;
using Microsoft.Extensions.Hosting;

namespace ImageAspire.Tests.Unit;

/// <summary>Configuration types refuse values that would misbehave at run time, naming them.</summary>
public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData(0, 5, nameof(RateLimitOptions.Burst))]
    [InlineData(60, -1, nameof(RateLimitOptions.PerSecond))]
    public void A_rate_limit_that_would_refuse_everyone_is_refused(int burst, int perSecond, string named)
    {
        var result = new RateLimitOptionsValidator().Validate(null, new RateLimitOptions { Burst = burst, PerSecond = perSecond });

        Assert.True(result.Failed);
        Assert.Contains(named, result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new RateLimitOptionsValidator().Validate(null, new RateLimitOptions()).Succeeded);
    }

    [Fact]
    public void The_edge_names_what_the_AppHost_did_not_give_it()
    {
        var result = new EdgeOptionsValidator().Validate(null, new EdgeOptions { Template = "template.yaml" });

        Assert.True(result.Failed);
        Assert.Contains(nameof(EdgeOptions.WebRoot), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(EdgeOptions.MediaBucket), result.FailureMessage, StringComparison.Ordinal);
    }
}
