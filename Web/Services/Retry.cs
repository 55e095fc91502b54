namespace ImageAspire.Web.Services;

/// <summary>
/// What the app does with an answer that means "not now" (503: busy or storage unavailable; 429: rate limit):
/// wait what the server asked, within reason, and try again a few times before showing an error.
/// </summary>
public static class Retry
{
    public const int MaxAttempts = 4;

    public static bool IsRetryable(int status) => status is 503 or 429;

    /// <summary>The server's Retry-After, kept within 1–10 s; 2 s when it gave none.</summary>
    public static TimeSpan Delay(double? retryAfterSeconds) =>
        TimeSpan.FromSeconds(Math.Clamp(retryAfterSeconds is > 0 ? retryAfterSeconds.Value : 2, 1, 10));
}
