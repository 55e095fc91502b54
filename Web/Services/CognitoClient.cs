using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageAspire.Web.Services;

/// <summary>Cognito user pools' JSON API from the browser: SignUp, ConfirmSignUp, InitiateAuth.</summary>
public sealed class CognitoClient(HttpClient http, CognitoSettings settings)
{
    public async Task SignUpAsync(string email, string password) =>
        await SendAsync("SignUp", new JsonObject
        {
            ["ClientId"] = settings.ClientId,
            ["Username"] = email,
            ["Password"] = password,
            ["UserAttributes"] = new JsonArray(new JsonObject { ["Name"] = "email", ["Value"] = email }),
        });

    public async Task ConfirmAsync(string email, string code) =>
        await SendAsync("ConfirmSignUp", new JsonObject { ["ClientId"] = settings.ClientId, ["Username"] = email, ["ConfirmationCode"] = code });

    public async Task<Tokens> SignInAsync(string email, string password)
    {
        var result = await SendAsync("InitiateAuth", new JsonObject
        {
            ["AuthFlow"] = "USER_PASSWORD_AUTH",
            ["ClientId"] = settings.ClientId,
            ["AuthParameters"] = new JsonObject { ["USERNAME"] = email, ["PASSWORD"] = password },
        });
        return ToTokens(result, refreshToken: null);
    }

    public async Task<Tokens> RefreshAsync(string refreshToken)
    {
        var result = await SendAsync("InitiateAuth", new JsonObject
        {
            ["AuthFlow"] = "REFRESH_TOKEN_AUTH",
            ["ClientId"] = settings.ClientId,
            ["AuthParameters"] = new JsonObject { ["REFRESH_TOKEN"] = refreshToken },
        });
        return ToTokens(result, refreshToken);
    }

    private static Tokens ToTokens(JsonObject result, string? refreshToken)
    {
        var auth = result["AuthenticationResult"] ?? throw new CognitoException("The sign-in needs a step this app does not support.");
        var expiresIn = (int?)auth["ExpiresIn"] ?? 3600;
        return new Tokens(
            (string)auth["AccessToken"]!,
            (string?)auth["RefreshToken"] ?? refreshToken ?? string.Empty,
            DateTimeOffset.UtcNow.AddSeconds(expiresIn));
    }

    private async Task<JsonObject> SendAsync(string operation, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Endpoint)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        request.Headers.Add("X-Amz-Target", $"AWSCognitoIdentityProviderService.{operation}");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonObject json;
        try
        {
            json = JsonNode.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            json = [];
        }

        if (!response.IsSuccessStatusCode)
        {
            var type = ((string?)json["__type"] ?? string.Empty).Split('#')[^1];
            var message = (string?)json["message"] ?? (string?)json["Message"] ?? $"Cognito answered {(int)response.StatusCode}.";
            throw new CognitoException(type switch
            {
                "UsernameExistsException" => "An account with this email exists already.",
                "NotAuthorizedException" or "InvalidPasswordException" when operation == "InitiateAuth" => "Wrong email or password.",
                "UserNotConfirmedException" => "Confirm your email first.",
                "CodeMismatchException" => "That code is not right.",
                _ => message,
            });
        }

        return json;
    }
}

public sealed record Tokens(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt);

public sealed class CognitoException(string message) : Exception(message)
{
    public CognitoException() : this("Cognito refused the request.") { }

    public CognitoException(string message, Exception inner) : this(message + " " + inner.Message) { }
}
