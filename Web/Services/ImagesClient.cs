using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace ImageAspire.Web.Services;

/// <summary>The image API on the site's own origin (/api/...), with the session's access token.</summary>
public sealed class ImagesClient(HttpClient http, AuthSession session)
{
    private DateTimeOffset _renewMediaAccessAfter = DateTimeOffset.MinValue;

    /// <summary>The gallery's order, for moving to the previous and next image from the detail page.</summary>
    public string[] Listed { get; set; } = [];

    public async Task<ImagePage?> ListAsync(int limit, string? cursor, string? label = null)
    {
        await EnsureMediaAccessAsync();
        return await SendAsync<ImagePage>(HttpMethod.Get, $"api/images?limit={limit}"
            + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}")
            + (string.IsNullOrWhiteSpace(label) ? string.Empty : $"&label={Uri.EscapeDataString(label)}"));
    }

    /// <summary>The labels of the user's images, most frequent first.</summary>
    public async Task<LabelCount[]> LabelsAsync() => await SendAsync<LabelCount[]>(HttpMethod.Get, "api/images/labels") ?? [];

    public async Task<ImageItem?> GetAsync(string id)
    {
        await EnsureMediaAccessAsync();
        return await SendAsync<ImageItem>(HttpMethod.Get, $"api/images/{Uri.EscapeDataString(id)}");
    }

    /// <summary>
    /// The image once its analysis has ended. An upload is answered before an analysis that outlasts its storage (the
    /// image reads <c>Pending</c> until it is stored, seconds later), so the blur of a sensitive image and its labels
    /// follow it: read again every second, for at most <see cref="AnalysisWatch"/>.
    /// </summary>
    public async Task<ImageItem?> WhenAnalysedAsync(string id, CancellationToken cancellationToken)
    {
        var until = DateTimeOffset.UtcNow + AnalysisWatch;
        ImageItem? image;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            image = await SendAsync<ImageItem>(HttpMethod.Get, $"api/images/{Uri.EscapeDataString(id)}");
        }
        while (image?.Analysis?.Status == "Pending" && DateTimeOffset.UtcNow < until);
        return image;
    }

    /// <summary>How long a page follows an analysis still under way: past it the sweep does it, minutes later.</summary>
    public static readonly TimeSpan AnalysisWatch = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Renditions are private: the API sets signed cookies for the user's media path, which the browser sends with
    /// every <c>&lt;img&gt;</c> request. Asked for again once half their lifetime has passed.
    /// </summary>
    public async Task EnsureMediaAccessAsync()
    {
        if (DateTimeOffset.UtcNow < _renewMediaAccessAfter)
        {
            return;
        }

        var grant = await SendAsync<MediaSession>(HttpMethod.Post, "api/media/session");
        _renewMediaAccessAfter = grant?.RenewAfter ?? DateTimeOffset.MinValue;
    }

    /// <summary>Before signing out: the browser drops the media cookies.</summary>
    public async Task EndMediaAccessAsync()
    {
        _renewMediaAccessAfter = DateTimeOffset.MinValue;
        try
        {
            using var response = await SendOnceAsync(HttpMethod.Delete, "api/media/session", null);
        }
        catch (Exception ex) when (ex is HttpRequestException or ApiException)
        {
            // Signing out goes on; the cookies expire by themselves.
        }
    }

    public async Task DeleteAsync(string id) => await SendAsync<object>(HttpMethod.Delete, $"api/images/{Uri.EscapeDataString(id)}");

    public Task<UploadTicket?> CreateUploadAsync(string fileName, string contentType, long size) =>
        SendAsync<UploadTicket>(HttpMethod.Post, "api/uploads", () => JsonContent.Create(new { fileName, contentType, size }));

    public Task<ImageItem?> CompleteUploadAsync(string id) => SendAsync<ImageItem>(HttpMethod.Post, $"api/uploads/{Uri.EscapeDataString(id)}/complete");

    public async Task<string> TokenAsync() => await session.AccessTokenAsync() ?? throw new ApiException("Your session has ended; sign in again.", 401);

    private async Task<T?> SendAsync<T>(HttpMethod method, string path, Func<HttpContent>? content = null)
    {
        // Every call here is safe to repeat after a 503/429: nothing was done, or it is idempotent.
        for (var attempt = 1; ; attempt++)
        {
            using var response = await SendOnceAsync(method, path, content?.Invoke());
            if (Retry.IsRetryable((int)response.StatusCode) && attempt < Retry.MaxAttempts)
            {
                await Task.Delay(Retry.Delay(response.Headers.RetryAfter?.Delta?.TotalSeconds));
                continue;
            }

            return await ReadAsync<T>(method, response);
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync());
        return await http.SendAsync(request);
    }

    private async Task<T?> ReadAsync<T>(HttpMethod method, HttpResponseMessage response)
    {
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            await session.ExpiredAsync();
            throw new ApiException("Your session has ended; sign in again.", 401);
        }

        if (response.StatusCode == HttpStatusCode.NotFound && method == HttpMethod.Get)
        {
            return default;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new ApiException(await ProblemTextAsync(response), (int)response.StatusCode);
        }

        return response.StatusCode == HttpStatusCode.NoContent ? default : await response.Content.ReadFromJsonAsync<T>();
    }

    public static async Task<string> ProblemTextAsync(HttpResponseMessage response)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
            return problem?.Detail ?? problem?.Title ?? $"The server answered {(int)response.StatusCode}.";
        }
        catch (System.Text.Json.JsonException)
        {
            return $"The server answered {(int)response.StatusCode}.";
        }
    }
}

public sealed class ApiException(string message, int status) : Exception(message)
{
    public int Status { get; } = status;

    public ApiException() : this("The request failed.", 0) { }

    public ApiException(string message) : this(message, 0) { }

    public ApiException(string message, Exception inner) : this(message + " " + inner.Message, 0) { }
}
