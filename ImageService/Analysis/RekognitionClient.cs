using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using ImageAspire.ImageService.Processing;

namespace ImageAspire.ImageService.Analysis;

/// <summary>Rekognition refused a call: its error type (<c>InvalidImageFormatException</c>, <c>ThrottlingException</c>…) and message.</summary>
public sealed class RekognitionException : Exception
{
    public RekognitionException() { }

    public RekognitionException(string message) : base(message) { }

    public RekognitionException(string message, Exception inner) : base(message, inner) { }

    public RekognitionException(HttpStatusCode status, string type, string message) : base($"{type}: {message}") => (Status, Type) = (status, type);

    public HttpStatusCode Status { get; }

    public string Type { get; } = string.Empty;
}

/// <summary>
/// Amazon Rekognition's image operations over its JSON 1.1 protocol (<c>AWSSDK.Rekognition</c> is not available here):
/// one POST per call, signed by the HttpClient's SigV4 handler (the AWS SDK's), each in a span of its own.
/// </summary>
public sealed class RekognitionClient(HttpClient http)
{
    public async Task<RekognitionResponses.DetectLabels> DetectLabelsAsync(byte[] image, int maxLabels, double minConfidence, CancellationToken cancellationToken) =>
        await CallAsync("DetectLabels", new RekognitionRequests.DetectLabels(new RekognitionRequests.Image(image), maxLabels, minConfidence),
            RekognitionJsonContext.Default.DetectLabels, RekognitionJsonContext.Default.DetectLabelsResponse, cancellationToken);

    public async Task<RekognitionResponses.DetectModerationLabels> DetectModerationLabelsAsync(byte[] image, double minConfidence, CancellationToken cancellationToken) =>
        await CallAsync("DetectModerationLabels", new RekognitionRequests.DetectModerationLabels(new RekognitionRequests.Image(image), minConfidence),
            RekognitionJsonContext.Default.DetectModerationLabels, RekognitionJsonContext.Default.DetectModerationLabelsResponse, cancellationToken);

    public async Task<RekognitionResponses.DetectFaces> DetectFacesAsync(byte[] image, CancellationToken cancellationToken) =>
        await CallAsync("DetectFaces", new RekognitionRequests.DetectFaces(new RekognitionRequests.Image(image)),
            RekognitionJsonContext.Default.DetectFaces, RekognitionJsonContext.Default.DetectFacesResponse, cancellationToken);

    private async Task<TResponse> CallAsync<TRequest, TResponse>(string operation, TRequest request,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<TRequest> requestType, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var activity = ImageTelemetry.Source.StartActivity($"Rekognition {operation}", ActivityKind.Client);
        activity?.SetTag("rpc.system", "aws-api");
        activity?.SetTag("rpc.service", "Rekognition");
        activity?.SetTag("rpc.method", operation);
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, requestType));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri("/", UriKind.Relative)) { Content = content };
        message.Headers.Add("X-Amz-Target", $"RekognitionService.{operation}");
        using var response = await http.SendAsync(message, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var error = TryRead(body, RekognitionJsonContext.Default.Failure);
            activity?.SetStatus(ActivityStatusCode.Error, error?.Type);
            throw new RekognitionException(response.StatusCode, ErrorType(error?.Type, response), error?.Message ?? error?.LowerMessage ?? response.ReasonPhrase ?? string.Empty);
        }

        return TryRead(body, responseType) ?? throw new RekognitionException(response.StatusCode, "InvalidResponse", $"The {operation} answer could not be read.");
    }

    // "__type" may carry a namespace prefix ("com.amazonaws.rekognition#ThrottlingException").
    private static string ErrorType(string? type, HttpResponseMessage response) =>
        type?.Split('#')[^1] ?? $"Http{(int)response.StatusCode}";

    private static T? TryRead<T>(byte[] body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return body.Length == 0 ? default : JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException)
        {
            return default;
        }
    }
}

public static class RekognitionRequests
{
    public sealed record Image(byte[] Bytes);

    public sealed record DetectLabels(Image Image, int MaxLabels, double MinConfidence);

    public sealed record DetectModerationLabels(Image Image, double MinConfidence);

    public sealed record DetectFaces(Image Image);
}

public static class RekognitionResponses
{
    public sealed record Box(double Width, double Height, double Left, double Top);

    public sealed record Instance(Box? BoundingBox, double Confidence);

    public sealed record Parent(string Name);

    public sealed record Label(string Name, double Confidence, IReadOnlyList<Instance>? Instances, IReadOnlyList<Parent>? Parents);

    public sealed record DetectLabels(IReadOnlyList<Label>? Labels, string? LabelModelVersion);

    public sealed record ModerationLabel(string Name, string? ParentName, double Confidence);

    public sealed record DetectModerationLabels(IReadOnlyList<ModerationLabel>? ModerationLabels, string? ModerationModelVersion);

    public sealed record FaceDetail(Box? BoundingBox, double Confidence);

    public sealed record DetectFaces(IReadOnlyList<FaceDetail>? FaceDetails);

    public sealed record Failure([property: JsonPropertyName("__type")] string? Type, string? Message, [property: JsonPropertyName("message")] string? LowerMessage);
}

/// <summary>Rekognition's JSON: PascalCase names, bytes as base64 (System.Text.Json's default for byte[]).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified, PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(RekognitionRequests.DetectLabels), TypeInfoPropertyName = "DetectLabels")]
[JsonSerializable(typeof(RekognitionRequests.DetectModerationLabels), TypeInfoPropertyName = "DetectModerationLabels")]
[JsonSerializable(typeof(RekognitionRequests.DetectFaces), TypeInfoPropertyName = "DetectFaces")]
[JsonSerializable(typeof(RekognitionResponses.DetectLabels), TypeInfoPropertyName = "DetectLabelsResponse")]
[JsonSerializable(typeof(RekognitionResponses.DetectModerationLabels), TypeInfoPropertyName = "DetectModerationLabelsResponse")]
[JsonSerializable(typeof(RekognitionResponses.DetectFaces), TypeInfoPropertyName = "DetectFacesResponse")]
[JsonSerializable(typeof(RekognitionResponses.Failure), TypeInfoPropertyName = "Failure")]
internal sealed partial class RekognitionJsonContext : JsonSerializerContext;
