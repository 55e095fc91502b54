using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImageAspire.LocalLambda;

/// <summary>
/// API Gateway's JWT authorizer, locally: a bearer token must be signed by a key of the issuer's JWKS (RS256),
/// come from exactly the issuer, be within its lifetime, and name one of the audiences in <c>aud</c> or
/// <c>client_id</c>. What passes becomes <c>requestContext.authorizer.jwt.claims</c> (arrays as "[a b]").
/// </summary>
public sealed class ApiGatewayJwtAuthorizer(HttpClient http, string issuer, IReadOnlyList<string> audiences, TimeProvider? time = null)
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private JsonWebKeySet? _keys;
    private DateTimeOffset _keysReadAt;

    public async Task<IReadOnlyDictionary<string, string>?> AuthorizeAsync(string? authorization, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return null;
        }

        var token = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : authorization.Trim();
        var keys = await KeysAsync(refresh: false, cancellationToken);
        var result = await ValidateAsync(token, keys);
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            result = await ValidateAsync(token, await KeysAsync(refresh: true, cancellationToken));
        }

        if (!result.IsValid)
        {
            return null;
        }

        var claims = result.ClaimsIdentity.Claims.ToList();
        var audience = claims.Where(c => c.Type is "aud" or "client_id").Select(c => c.Value);
        if (!audience.Any(audiences.Contains))
        {
            return null;
        }

        return claims.GroupBy(c => c.Type).ToDictionary(
            g => g.Key,
            g => g.Count() > 1 || g.Key == "cognito:groups" ? $"[{string.Join(' ', g.Select(c => c.Value))}]" : g.First().Value);
    }

    private Task<TokenValidationResult> ValidateAsync(string token, JsonWebKeySet keys) =>
        _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidateIssuer = true,
            ValidateAudience = false, // checked above: Cognito access tokens carry client_id, not aud
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            IssuerSigningKeys = keys.GetSigningKeys(),
            ClockSkew = TimeSpan.Zero,
            LifetimeValidator = time is null ? null : (notBefore, expires, _, _) =>
                (notBefore is null || notBefore <= time.GetUtcNow().UtcDateTime) && expires > time.GetUtcNow().UtcDateTime,
        });

    private async Task<JsonWebKeySet> KeysAsync(bool refresh, CancellationToken cancellationToken)
    {
        if (_keys is null || refresh && DateTimeOffset.UtcNow - _keysReadAt > TimeSpan.FromSeconds(10))
        {
            var json = await http.GetStringAsync(new Uri($"{issuer.TrimEnd('/')}/.well-known/jwks.json"), cancellationToken);
            _keys = new JsonWebKeySet(json);
            _keysReadAt = DateTimeOffset.UtcNow;
        }

        return _keys;
    }

    /// <summary>API Gateway's answer to a missing or invalid token.</summary>
    public static byte[] UnauthorizedBody => JsonSerializer.SerializeToUtf8Bytes(new { message = "Unauthorized" });
}
