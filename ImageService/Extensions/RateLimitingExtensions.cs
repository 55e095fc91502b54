using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace Microsoft.Extensions.Hosting;

/// <summary>Per-user request budget: a token bucket per Cognito subject (per client address before sign-in).</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimit";

    /// <summary>Requests a user may make at once.</summary>
    [Range(1, 100_000)]
    public int Burst { get; set; } = 60;

    /// <summary>Requests a user regains per second.</summary>
    [Range(1, 100_000)]
    public int PerSecond { get; set; } = 5;
}

/// <summary>Validates <see cref="RateLimitOptions"/> from its attributes (generated at compile time, no reflection).</summary>
[Microsoft.Extensions.Options.OptionsValidator]
public sealed partial class RateLimitOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<RateLimitOptions>;

public static class RateLimitingExtensions
{
    public const string PerUserPolicy = "per-user";

    public static IServiceCollection AddPerUserRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateWith(new RateLimitOptionsValidator()).ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(PerUserPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>().Value;
                var key = context.User.FindFirstValue("sub") ?? "ip:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.Burst,
                    TokensPerPeriod = options.PerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await rejected.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = rejected.HttpContext,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = $"Slow down; retry after {seconds} s.",
                    },
                });
            };
        });
        return services;
    }
}
