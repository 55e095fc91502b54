namespace ImageAspire.Tests.Support;

/// <summary>Explicit timeouts for test steps.</summary>
public static class TestTimeout
{
    /// <summary>
    /// A token cancelled after <paramref name="seconds"/> or when the test run is. Its source is disposed once it has
    /// fired, so it does not stay registered on the run's token until the run ends.
    /// </summary>
    public static CancellationToken After(int seconds)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.Token.UnsafeRegister(static state => ThreadPool.UnsafeQueueUserWorkItem(static s => ((CancellationTokenSource)s!).Dispose(), state), source);
        source.CancelAfter(TimeSpan.FromSeconds(seconds));
        return source.Token;
    }
}
