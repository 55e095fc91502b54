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
        // API Gateway checked issuer, audience, expiry and signature; the issuer is checked again because the
        // authorizer's audience list is the only thing tying it to this pool's configuration here.
        var reason = cognito.Value.RejectAccessToken(claims.GetValueOrDefault)
            ?? (claims.GetValueOrDefault("iss") != cognito.Value.Issuer ? "The token comes from another issuer." : null);
        if (reason is not null)
        {
            return Task.FromResult(AuthenticateResult.Fail(reason));
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
