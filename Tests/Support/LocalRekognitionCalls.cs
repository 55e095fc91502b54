using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Aspire.Hosting.Testing;
using ImageAspire.Hosting.LocalAws;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Support;

/// <summary>Calls the AppHost's local Rekognition as a client of Amazon Rekognition does: JSON 1.1, signed with the AWS SDK's SigV4 handler.</summary>
public static class LocalRekognitionCalls
{
    public static async Task<(HttpStatusCode Status, JsonObject Body)> CallAsync(
        AppHostFixture fixture, string operation, JsonObject request, AWSCredentials? credentials = null, bool sign = true)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        ArgumentNullException.ThrowIfNull(request);
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var endpoint = fixture.App.GetEndpoint("rekognition", "http");
        HttpMessageHandler handler = new SocketsHttpHandler();
        if (sign)
        {
            handler = new SigV4SigningHandler(credentials ?? new BasicAWSCredentials(LocalAwsBackend.EmbeddedAccessKeyId, LocalAwsBackend.EmbeddedAccessKeyId),
                RegionEndpoint.USEast1, "rekognition", handler);
        }

        using var http = new HttpClient(handler);
        using var content = new StringContent(request.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        message.Headers.Add("X-Amz-Target", $"RekognitionService.{operation}");
        using var response = await http.SendAsync(message, Timeout());
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Timeout()))!.AsObject());
    }

    /// <summary>The faces the local Rekognition finds in an image.</summary>
    public static async Task<JsonArray> FacesAsync(AppHostFixture fixture, byte[] image)
    {
        var (status, body) = await CallAsync(fixture, "DetectFaces", new JsonObject { ["Image"] = new JsonObject { ["Bytes"] = Convert.ToBase64String(image) } });
        Assert.Equal(HttpStatusCode.OK, status);
        return body["FaceDetails"]!.AsArray();
    }
}
