using System.Security.Claims;
using ImageAspire.ImageService.Auth;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Microsoft.Extensions.DependencyInjection;

public static class AuthenticationExtensions
{
    public const string AdminsPolicy = "admins";

    /// <summary>
    /// JWT bearer authentication for Cognito access tokens: RS256 signatures from the pool's JWKS, the exact
    /// issuer, expiry and not-before, <c>token_use = access</c> and <c>client_id</c> = the app client.
    /// Access tokens carry no <c>aud</c>, so the client check replaces the audience check.
    /// </summary>
    public static IServiceCollection AddCognitoAuthentication(this IServiceCollection services)
    {
        services.AddOptions<CognitoAuthOptions>().BindConfiguration(CognitoAuthOptions.SectionName).ValidateWith(new CognitoAuthOptionsValidator()).ValidateOnStart();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<CognitoAuthOptions>>((bearer, cognitoOptions) =>
            {
                var cognito = cognitoOptions.Value;
                bearer.MapInboundClaims = false;
                bearer.RequireHttpsMetadata = cognito.RequireHttpsMetadata;
                // Cognito's keys are at a fixed address under the issuer, in AWS and in the emulator alike;
                // reading them directly avoids the emulator's discovery document, which names a fixed host.
                bearer.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                    cognito.JwksUri.ToString(),
                    new JwksConfigurationRetriever(cognito.Issuer),
                    new HttpDocumentRetriever { RequireHttps = cognito.RequireHttpsMetadata });
                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = cognito.Issuer,
                    ValidateIssuer = true,
                    ValidateAudience = false,
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ValidateIssuerSigningKey = true,
                    ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
                    ClockSkew = cognito.ClockSkew,
                    NameClaimType = "sub",
                    RoleClaimType = "cognito:groups",
                };
                bearer.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        var principal = context.Principal;
                        if ((principal is null ? "No claims." : cognito.RejectAccessToken(principal.FindFirstValue)) is { } reason)
                        {
                            context.Fail(reason);
                        }

                        return Task.CompletedTask;
                    },
                };
            });

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddOptions<Microsoft.AspNetCore.Authorization.AuthorizationOptions>()
            .Configure<IOptions<CognitoAuthOptions>>((authorization, cognito) => authorization.AddPolicy(AdminsPolicy,
                policy => policy.RequireAuthenticatedUser().RequireClaim("cognito:groups", cognito.Value.AdminsGroup)));
        return services;
    }
}

/// <summary>Turns a JWKS document into the configuration JwtBearer validates signatures against.</summary>
internal sealed class JwksConfigurationRetriever(string issuer) : IConfigurationRetriever<OpenIdConnectConfiguration>
{
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
    {
        var document = await retriever.GetDocumentAsync(address, cancel);
        var keys = new JsonWebKeySet(document);
        var configuration = new OpenIdConnectConfiguration { Issuer = issuer, JwksUri = address, JsonWebKeySet = keys };
        foreach (var key in keys.GetSigningKeys())
        {
            configuration.SigningKeys.Add(key);
        }

        return configuration;
    }
}
