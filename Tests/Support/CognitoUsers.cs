using System.Text.Json.Nodes;
using ImageAspire.Hosting.LocalAws;

namespace ImageAspire.Tests.Support;

/// <summary>The tokens of a signed-in user.</summary>
public sealed record CognitoTokens(string AccessToken, string IdToken, string RefreshToken);

/// <summary>What a test or a load run does as a user of the local Cognito: sign up, confirm, sign in.</summary>
public static class CognitoUsers
{
    /// <summary>The claims of a token, read from its payload (not verified: the tests compare what the issuer put in it).</summary>
    public static JsonObject ClaimsOf(string jwt)
    {
        ArgumentNullException.ThrowIfNull(jwt);
        var payload = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        return (JsonObject)JsonNode.Parse(Convert.FromBase64String(payload))!;
    }

    /// <summary>Signs a user in with USER_PASSWORD_AUTH and returns the tokens.</summary>
    public static async Task<CognitoTokens> SignInAsync(this CognitoClient cognito, string clientId, string userName, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cognito);
        var answer = await cognito.SendAsync("InitiateAuth", new JsonObject
        {
            ["AuthFlow"] = "USER_PASSWORD_AUTH",
            ["ClientId"] = clientId,
            ["AuthParameters"] = new JsonObject { ["USERNAME"] = userName, ["PASSWORD"] = password },
        }, cancellationToken);
        var result = answer["AuthenticationResult"] ?? throw new CognitoException("ChallengeRequired", $"InitiateAuth answered a challenge: {answer}");
        return new CognitoTokens(
            (string?)result["AccessToken"] ?? string.Empty,
            (string?)result["IdToken"] ?? string.Empty,
            (string?)result["RefreshToken"] ?? string.Empty);
    }

    /// <summary>Signs a new user up and confirms them with the code.</summary>
    public static async Task SignUpAndConfirmAsync(this CognitoClient cognito, string clientId, string email, string password, string code, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cognito);
        await cognito.SendAsync("SignUp", new JsonObject
        {
            ["ClientId"] = clientId,
            ["Username"] = email,
            ["Password"] = password,
            ["UserAttributes"] = new JsonArray(new JsonObject { ["Name"] = "email", ["Value"] = email }),
        }, cancellationToken);
        await cognito.SendAsync("ConfirmSignUp", new JsonObject
        {
            ["ClientId"] = clientId,
            ["Username"] = email,
            ["ConfirmationCode"] = code,
        }, cancellationToken);
    }
}
