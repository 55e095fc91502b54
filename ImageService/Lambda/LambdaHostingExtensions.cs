using ImageAspire.ImageService.Lambda;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;

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
}
