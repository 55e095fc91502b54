using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImageAspire.Tests.Support;

/// <summary>
/// Signs tokens with the local Cognito's own key (it ships inside the public npm package, which is exactly why a
/// production service must never trust a local issuer), so tests can make every kind of bad token for real.
/// </summary>
public static class TokenForge
{
    private static readonly Lazy<JsonWebKey> Key = new(() =>
    {
        var json = JsonNode.Parse(File.ReadAllText(Repository.PathOf("Infra", "Local", "emulators", "node_modules", "cognito-local", "lib", "keys", "cognitoLocal.private.json")))!;
        return new JsonWebKey(json["jwk"]!.ToJsonString()) { KeyId = "CognitoLocal" };
    });

    public static string Sign(IDictionary<string, object> claims, DateTime? notBefore = null, DateTime? expires = null, DateTime? issuedAt = null) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            NotBefore = notBefore,
            Expires = expires,
            IssuedAt = issuedAt ?? DateTime.UtcNow.AddMinutes(-1),
            SigningCredentials = new SigningCredentials(Key.Value, SecurityAlgorithms.RsaSha256),
        });

    public static string WithoutSignature(IDictionary<string, object> claims) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Expires = DateTime.UtcNow.AddHours(1),
        });
}
