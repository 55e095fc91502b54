using System.Security.Claims;
using System.Text.Encodings.Web;
using ImageAspire.ImageService.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// In Lambda mode API Gateway's JWT authorizer has validated the token (issuer, audience, expiry, signature);
/// its claims arrive in the invocation and become the user. The same access-token rules as in web mode apply.
/// Outside a Lambda invocation there are no claims, so nothing is ever trusted from a plain HTTP request.
/// </summary>
public sealed class LambdaAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<CognitoAuthOptions> cognito)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiGatewayAuthorizer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var invocation = Context.Features.Get<Lambda.LambdaInvocationFeature>();
        if (invocation is null || invocation.AuthorizerClaims.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var claims = invocation.AuthorizerClaims;
        if (claims.GetValueOrDefault("token_use") != "access")
        {
            return Task.FromResult(AuthenticateResult.Fail("An access token is required."));
        }

        if (claims.GetValueOrDefault("client_id") != cognito.Value.ClientId)
        {
            return Task.FromResult(AuthenticateResult.Fail("The token was issued to another client."));
        }

        if (claims.GetValueOrDefault("iss") != cognito.Value.Issuer || string.IsNullOrEmpty(claims.GetValueOrDefault("sub")))
        {
            return Task.FromResult(AuthenticateResult.Fail("The token's issuer or subject is not acceptable."));
        }

        var identity = new ClaimsIdentity(SchemeName, "sub", "cognito:groups");
        foreach (var (type, value) in claims)
        {
            // API Gateway flattens array claims to "[a b]".
            if (type == "cognito:groups" && value.StartsWith('[') && value.EndsWith(']'))
            {
                foreach (var group in value[1..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    identity.AddClaim(new Claim(type, group));
                }
            }
            else
            {
                identity.AddClaim(new Claim(type, value));
            }
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
