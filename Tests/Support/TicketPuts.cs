using System.Net;
using System.Text.Json.Nodes;

namespace ImageAspire.Tests.Support;

/// <summary>The PUT a client makes with a ticket from <c>POST /api/uploads</c>.</summary>
public static class TicketPuts
{
    private static readonly HttpClient Http = new();

    /// <summary>PUTs <paramref name="data"/> to the ticket's URL with every header the ticket names.</summary>
    public static Task<HttpStatusCode> PutAsync(JsonNode ticket, byte[] data, CancellationToken cancellationToken) =>
        PutAsync((string)ticket["uploadUrl"]!, Headers(ticket), data, cancellationToken);

    /// <summary>PUTs to any URL with any headers, to try what a hostile client would.</summary>
    public static async Task<HttpStatusCode> PutAsync(string url, IReadOnlyDictionary<string, string> headers, byte[] data, CancellationToken cancellationToken)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(data) };
        foreach (var (name, value) in headers)
        {
            if (!put.Headers.TryAddWithoutValidation(name, value))
            {
                put.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await Http.SendAsync(put, cancellationToken);
        return response.StatusCode;
    }

    public static Dictionary<string, string> Headers(JsonNode ticket) =>
        ((JsonObject)ticket["headers"]!).ToDictionary(h => h.Key, h => (string)h.Value!);
}
