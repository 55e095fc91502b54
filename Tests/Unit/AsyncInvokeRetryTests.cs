using ImageAspire.LocalLambda;

namespace ImageAspire.Tests.Unit;

/// <summary>The local Lambda service's retry rule for asynchronous invocations, as the template's EventInvokeConfig sets it.</summary>
public sealed class AsyncInvokeRetryTests
{
    private static readonly DateTimeOffset Accepted = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Each_retry_waits_twice_as_long_until_the_retries_are_used()
    {
        var config = new AsyncInvokeConfig(MaximumRetryAttempts: 2, MaximumEventAge: TimeSpan.FromHours(6), OnFailureBucket: "failures", RetryDelay: TimeSpan.FromSeconds(5));

        Assert.Equal((TimeSpan.FromSeconds(5), null), AsyncInvocations.AfterFailure(config, 1, Accepted, Accepted.AddSeconds(1)));
        Assert.Equal((TimeSpan.FromSeconds(10), null), AsyncInvocations.AfterFailure(config, 2, Accepted, Accepted.AddSeconds(7)));
        Assert.Equal("RetriesExhausted", AsyncInvocations.AfterFailure(config, 3, Accepted, Accepted.AddSeconds(18)).GiveUpCondition);
    }

    [Fact]
    public void An_event_that_would_be_too_old_by_its_next_attempt_is_given_up_as_EventAgeExceeded()
    {
        var config = new AsyncInvokeConfig(MaximumRetryAttempts: 2, MaximumEventAge: TimeSpan.FromSeconds(60), OnFailureBucket: "failures", RetryDelay: TimeSpan.FromSeconds(20));

        // 45 s after acceptance the next attempt would come at 65 s, past the 60 s maximum age.
        Assert.Equal((TimeSpan.Zero, "EventAgeExceeded"), AsyncInvocations.AfterFailure(config, 1, Accepted, Accepted.AddSeconds(45)));
        // At 30 s it would come at 50 s: still within the age, so it is retried.
        Assert.Equal((TimeSpan.FromSeconds(20), null), AsyncInvocations.AfterFailure(config, 1, Accepted, Accepted.AddSeconds(30)));
        // Retries used outrank the age.
        Assert.Equal("RetriesExhausted", AsyncInvocations.AfterFailure(config, 3, Accepted, Accepted.AddSeconds(59)).GiveUpCondition);
    }
}
