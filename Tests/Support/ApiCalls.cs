using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ImageAspire.Tests.Support;

/// <summary>An API answer as a client sees it: status, body (JSON or null) and Retry-After.</summary>
public sealed record ApiAnswer(HttpStatusCode Status, JsonNode? Body, TimeSpan? RetryAfter)
{
    public string? Id => (string?)Body?["id"];

    /// <summary>The image's status; null for a problem detail, whose <c>status</c> is the HTTP one.</summary>
    public string? ImageStatus => Body?["status"] is JsonValue value && value.TryGetValue<string>(out var status) ? status : null;

    public bool IsRetryable => Status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests;
}

/// <summary>The image API's calls, answering with what came back instead of asserting, for load and fault runs.</summary>
public static class ApiCalls
{
    public static async Task<ApiAnswer> UploadAsync(HttpClient client, byte[] data, string fileName, string contentType, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(content, "file", fileName);
        using var response = await client.PostAsync(new Uri("/api/images", UriKind.Relative), form, cancellationToken);
        return await AnswerAsync(response, cancellationToken);
    }

    public static async Task<ApiAnswer> CreateUploadAsync(HttpClient client, string fileName, string contentType, long size, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync("/api/uploads", new { fileName, contentType, size }, cancellationToken);
        return await AnswerAsync(response, cancellationToken);
    }

    public static async Task<ApiAnswer> CompleteAsync(HttpClient client, string id, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsync(new Uri($"/api/uploads/{id}/complete", UriKind.Relative), null, cancellationToken);
        return await AnswerAsync(response, cancellationToken);
    }

    /// <summary>
    /// What a client does after <c>PUT</c>: <c>complete</c>, and again after <c>Retry-After</c> (at most 5 s) while the
    /// answer is a 503/429 or the image is still Pending/Processing; up to 20 retries.
    /// </summary>
    public static async Task<ApiAnswer> CompleteUntilSettledAsync(HttpClient client, string id, CancellationToken cancellationToken)
    {
        var answer = await CompleteAsync(client, id, cancellationToken);
        for (var attempt = 0; attempt < 20 && (answer.IsRetryable || answer.ImageStatus is "Pending" or "Processing"); attempt++)
        {
            var wait = answer.RetryAfter ?? TimeSpan.FromSeconds(1);
            await Task.Delay(wait < TimeSpan.FromSeconds(5) ? wait : TimeSpan.FromSeconds(5), cancellationToken);
            answer = await CompleteAsync(client, id, cancellationToken);
        }

        return answer;
    }

    /// <summary>
    /// The image once its analysis has ended: an upload is answered before an analysis that outlasts its storage, which
    /// reads <c>Pending</c> until it is stored. Polls every 200 ms until <paramref name="cancellationToken"/>.
    /// </summary>
    public static async Task<JsonNode> AnalysedAsync(HttpClient client, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var image = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", cancellationToken))!;
            if ((string?)image["analysis"]?["status"] is not (null or "Pending"))
            {
                return image;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    /// <summary>Every image of the caller, following the cursor.</summary>
    public static async Task<List<JsonNode>> ListAllAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var items = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var page = (await client.GetFromJsonAsync<JsonObject>("/api/images?limit=100" + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}"), cancellationToken))!;
            items.AddRange(((JsonArray)page["items"]!).Select(n => n!));
            cursor = (string?)page["nextCursor"];
        }
        while (cursor is not null);
        return items;
    }

    private static async Task<ApiAnswer> AnswerAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? body = null;
        if (text.StartsWith('{'))
        {
            body = JsonNode.Parse(text);
        }

        return new ApiAnswer(response.StatusCode, body, response.Headers.RetryAfter?.Delta);
    }
}
