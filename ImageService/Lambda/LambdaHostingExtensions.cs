using ImageAspire.ImageService.Lambda;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Logging.Console;

namespace Microsoft.Extensions.Hosting;

public static class LambdaHostingExtensions
{
    /// <summary>True when the process runs inside Lambda (or the local Lambda emulator).</summary>
    public static bool IsLambda(this IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["AWS_LAMBDA_RUNTIME_API"]);

    /// <summary>
    /// Serves Lambda invocations instead of Kestrel when <c>AWS_LAMBDA_RUNTIME_API</c> is set, and takes the
    /// caller from API Gateway's authorizer claims instead of validating the bearer token again.
    /// </summary>
    public static IHostApplicationBuilder AddLambdaHosting(this IHostApplicationBuilder builder)
    {
        if (!builder.Configuration.IsLambda())
        {
            return builder;
        }

        if (string.Equals(builder.Configuration["AWS_LAMBDA_LOG_FORMAT"], "JSON", StringComparison.OrdinalIgnoreCase))
        {
            // LoggingConfig LogFormat JSON: a custom runtime writes the JSON lines itself, at the application log level
            // Lambda passes in AWS_LAMBDA_LOG_LEVEL.
            var minimum = LambdaJsonLogFormatter.MinimumLevel(builder.Configuration["AWS_LAMBDA_LOG_LEVEL"]);
            builder.Logging.AddConsole(console => console.FormatterName = LambdaJsonLogFormatter.Name).SetMinimumLevel(minimum);
            builder.Services.AddSingleton<ConsoleFormatter>(new LambdaJsonLogFormatter(minimum));
        }

        // The Runtime API client's own calls (the /next long-poll, /response) are not the invocation's work: traced, each
        // would be a root span exported to X-Ray whatever Lambda's sampling decided.
        var runtimeApi = builder.Configuration["AWS_LAMBDA_RUNTIME_API"];
        builder.Services.Configure<OpenTelemetry.Instrumentation.Http.HttpClientTraceInstrumentationOptions>(options =>
        {
            var previous = options.FilterHttpRequestMessage;
            options.FilterHttpRequestMessage = request =>
                !string.Equals(request.RequestUri?.Authority, runtimeApi, StringComparison.OrdinalIgnoreCase) && (previous?.Invoke(request) ?? true);
        });

        builder.Services.AddSingleton<LambdaInitWork>();
        builder.Services.AddSingleton<LambdaServer>();
        builder.Services.AddSingleton<IServer>(sp => sp.GetRequiredService<LambdaServer>());
        builder.Services.AddAuthentication(options =>
            {
                options.DefaultScheme = LambdaAuthenticationHandler.SchemeName;
                options.DefaultAuthenticateScheme = LambdaAuthenticationHandler.SchemeName;
                options.DefaultChallengeScheme = LambdaAuthenticationHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, LambdaAuthenticationHandler>(LambdaAuthenticationHandler.SchemeName, null);
        return builder;
    }

    /// <summary>
    /// Runs the app; in Lambda mode a failure before the first invocation (bad configuration, say) is reported
    /// to the Runtime API's <c>/init/error</c>, so Lambda shows the cause instead of a bare exit.
    /// </summary>
    public static void RunService(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!app.Configuration.IsLambda())
        {
            app.Run();
            return;
        }

        // Read before running: a failed start disposes the app, configuration included.
        var runtimeApi = app.Configuration["AWS_LAMBDA_RUNTIME_API"];
        try
        {
            // Beside the host's start; the Runtime API loop waits for it before asking for the first invocation.
            app.Services.GetRequiredService<LambdaInitWork>().Start();
            app.Run();
        }
        catch (Exception ex)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://{runtimeApi}"), Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                new LambdaRuntimeClient(http).ReportInitErrorAsync(ex, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (HttpRequestException)
            {
                // The original failure matters more than the report's.
            }

            throw;
        }
    }
}
