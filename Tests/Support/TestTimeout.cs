using System.Runtime.CompilerServices;
using Xunit.Sdk;

namespace ImageAspire.Tests.Support;

/// <summary>
/// Explicit timeouts for test steps, inside one budget for the whole test: however a test splits its time among its
/// steps, it ends (cancelled) within <see cref="TestBudget"/> of its first step.
/// </summary>
public static class TestTimeout
{
    /// <summary>The most one test may take, all its steps together.</summary>
    public static readonly TimeSpan TestBudget = TimeSpan.FromMinutes(8);

    private static readonly ConditionalWeakTable<ITest, CancellationTokenSource> Budgets = [];

    /// <summary>A step's token: cancelled after <paramref name="seconds"/>, when the test's budget is spent or when the run is.</summary>
    public static CancellationToken Timeout(int seconds = 120) => After(seconds);

    /// <summary>
    /// A token cancelled after <paramref name="seconds"/>, at the end of the test's budget or when the test run is.
    /// Its source is disposed once it has fired, so it does not stay registered until the run ends.
    /// </summary>
    public static CancellationToken After(int seconds)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(WholeTest());
        source.Token.UnsafeRegister(static state => ThreadPool.UnsafeQueueUserWorkItem(static s => ((CancellationTokenSource)s!).Dispose(), state), source);
        source.CancelAfter(TimeSpan.FromSeconds(seconds));
        return source.Token;
    }

    /// <summary>The current test's budget token (the run's token outside a test, e.g. in a fixture).</summary>
    public static CancellationToken WholeTest()
    {
        if (TestContext.Current.Test is not { } test)
        {
            return TestContext.Current.CancellationToken;
        }

        return Budgets.GetValue(test, static _ =>
        {
            var budget = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            budget.CancelAfter(TestBudget);
            return budget;
        }).Token;
    }
}
