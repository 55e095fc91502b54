using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImageAspire.ImageService.Lambda;

/// <summary>
/// The fields that tell the event sources apart, read before the payload is read as its own type: API Gateway
/// (<c>rawPath</c>, or <c>httpMethod</c> and <c>path</c>), S3 (<c>Records[].s3</c>), EventBridge (<c>source</c>, <c>detail-type</c>),
/// and an operator's direct invocation (<c>action</c>).
/// </summary>
public sealed record LambdaEventEnvelope(
    string? Version,
    string? RawPath,
    string? HttpMethod,
    string? Path,
    [property: JsonPropertyName("Records")] IReadOnlyList<JsonElement>? Records,
    string? Source,
    [property: JsonPropertyName("detail-type")] string? DetailType,
    string? Action,
    string? StartAfter)
{
    /// <summary>The <c>action</c> of the redrive command (Infra/Deploy/redrive.sh): process the failure bucket's events again.</summary>
    public const string RedriveFailedEvents = "redrive-failed-events";

    public bool IsApiGateway => RawPath is not null || (HttpMethod is not null && Path is not null);

    /// <summary>HTTP API payload 2.0 (it has <c>rawPath</c>); otherwise the REST API's 1.0.</summary>
    public bool IsHttpApiV2 => Version == "2.0" || RawPath is not null;

    public bool IsS3Notification => Records?.Any(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("s3", out _)) == true;

    /// <summary>EventBridge's scheduled event: the template's sweep schedule.</summary>
    public bool IsScheduledEvent => Source == "aws.events" && DetailType == "Scheduled Event";

    public bool IsRedrive => Action == RedriveFailedEvents;
}

/// <summary>An API Gateway HTTP API proxy event, payload format 2.0.</summary>
public sealed record HttpApiV2Event(
    string? Version,
    string? RawPath,
    string? RawQueryString,
    IReadOnlyList<string>? Cookies,
    IReadOnlyDictionary<string, string?>? Headers,
    HttpApiV2RequestContext? RequestContext,
    string? Body,
    bool IsBase64Encoded);

public sealed record HttpApiV2RequestContext(string? RequestId, string? Stage, HttpApiV2Http? Http, HttpApiV2Authorizer? Authorizer);

public sealed record HttpApiV2Http(string? Method, string? Path, string? SourceIp);

public sealed record HttpApiV2Authorizer(HttpApiJwt? Jwt);

public sealed record HttpApiJwt(IReadOnlyDictionary<string, JsonElement>? Claims);

/// <summary>An API Gateway REST API proxy event, payload format 1.0.</summary>
public sealed record RestApiV1Event(
    string? HttpMethod,
    string? Path,
    IReadOnlyDictionary<string, string?>? Headers,
    IReadOnlyDictionary<string, IReadOnlyList<string?>?>? MultiValueHeaders,
    IReadOnlyDictionary<string, string?>? QueryStringParameters,
    IReadOnlyDictionary<string, IReadOnlyList<string?>?>? MultiValueQueryStringParameters,
    RestApiV1RequestContext? RequestContext,
    string? Body,
    bool IsBase64Encoded);

public sealed record RestApiV1RequestContext(string? RequestId, RestApiV1Identity? Identity, RestApiV1Authorizer? Authorizer);

public sealed record RestApiV1Identity(string? SourceIp);

public sealed record RestApiV1Authorizer(IReadOnlyDictionary<string, JsonElement>? Claims);

/// <summary>The proxy response of payload format 2.0.</summary>
public sealed record HttpApiV2Response(
    int StatusCode,
    IReadOnlyDictionary<string, string> Headers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Cookies,
    string Body,
    bool IsBase64Encoded);

/// <summary>The proxy response of payload format 1.0.</summary>
public sealed record RestApiV1Response(
    int StatusCode,
    IReadOnlyDictionary<string, IReadOnlyList<string>> MultiValueHeaders,
    string Body,
    bool IsBase64Encoded);

/// <summary>What the Runtime API takes as an invocation or init error.</summary>
public sealed record LambdaError(string ErrorMessage, string ErrorType, IReadOnlyList<string> StackTrace);

/// <summary>Every type the Lambda entry point reads or writes, serialized without reflection.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LambdaEventEnvelope))]
[JsonSerializable(typeof(HttpApiV2Event))]
[JsonSerializable(typeof(RestApiV1Event))]
[JsonSerializable(typeof(HttpApiV2Response))]
[JsonSerializable(typeof(RestApiV1Response))]
[JsonSerializable(typeof(LambdaError))]
public sealed partial class LambdaJsonContext : JsonSerializerContext;
