using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>
/// A small client for the Cognito user pools JSON API (the AWSSDK package is not available here).
/// It sends unsigned requests, which the public operations (SignUp, InitiateAuth, ...) accept in AWS and
/// which the local emulator accepts for every operation; it is not meant for admin calls against AWS.
/// </summary>
public sealed class CognitoClient(HttpClient http, Uri endpoint)
{
    /// <summary>Calls one operation, e.g. <c>InitiateAuth</c>, and returns its JSON answer.</summary>
    public async Task<JsonObject> SendAsync(string operation, JsonObject request, CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(request.ToJsonString(), System.Text.Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        message.Content.Headers.ContentType!.CharSet = null;
        message.Headers.Add("X-Amz-Target", $"AWSCognitoIdentityProviderService.{operation}");
        using var response = await http.SendAsync(message, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var json = string.IsNullOrWhiteSpace(body) ? [] : JsonNode.Parse(body) as JsonObject ?? [];
        if (!response.IsSuccessStatusCode)
        {
            var type = ((string?)json["__type"] ?? response.StatusCode.ToString()).Split('#')[^1];
            throw new CognitoException(type, $"{operation}: {type}: {(string?)json["message"] ?? (string?)json["Message"] ?? body}");
        }

        return json;
    }
}

/// <summary>An error answer of the Cognito API; <see cref="Type"/> is e.g. <c>UsernameExistsException</c>.</summary>
public sealed class CognitoException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CognitoException(string type, string message) : base(message) => Type = type;

    /// <summary>Creates the exception.</summary>
    public CognitoException() => Type = string.Empty;

    /// <summary>Creates the exception.</summary>
    public CognitoException(string message) : base(message) => Type = string.Empty;

    /// <summary>Creates the exception.</summary>
    public CognitoException(string message, Exception inner) : base(message, inner) => Type = string.Empty;

    /// <summary>The error type without its namespace.</summary>
    public string Type { get; }
}
