namespace ImageAspire.Web.Services;

public sealed record Rendition(string Name, string Format, int Width, int Height, long Bytes, string Url);

public sealed record Label(string Name, double Confidence, IReadOnlyList<string> Parents);

public sealed record Analysis(string Status, IReadOnlyList<Label> Labels, bool Sensitive, string? Model, string? Error);

public sealed record LabelCount(string Label, int Images);

public sealed record ImageItem(
    string Id, string Status, string? FileName, string ContentType, int Width, int Height, long Bytes,
    DateTimeOffset CreatedAt, IReadOnlyList<Rendition> Renditions, string? Error, Analysis? Analysis = null)
{
    /// <summary>Moderation found something: shown blurred until the user asks to see it.</summary>
    public bool Sensitive => Analysis?.Sensitive == true;

    public Rendition? Thumbnail => Renditions.FirstOrDefault(r => r.Name == "thumb" && r.Format == "jpeg") ?? (Renditions.Count > 0 ? Renditions[0] : null);

    public Rendition? Preview =>
        Renditions.Where(r => r.Format == "webp").OrderByDescending(r => r.Width).FirstOrDefault(r => r.Name == "medium")
        ?? Renditions.OrderByDescending(r => r.Width).FirstOrDefault();

    /// <summary>The named renditions of one format, narrowest first; empty when the settings make none of them.</summary>
    public IReadOnlyList<Rendition> Of(string format, IReadOnlyCollection<string> names) =>
        [.. Renditions.Where(r => r.Format == format && names.Contains(r.Name)).OrderBy(r => r.Width)];
}

public sealed record MediaSession(string Prefix, DateTimeOffset ExpiresAt, DateTimeOffset RenewAfter);

public sealed record ImagePage(IReadOnlyList<ImageItem> Items, string? NextCursor);

public sealed record UploadTicket(string Id, string UploadUrl, Dictionary<string, string> Headers, DateTimeOffset ExpiresAt);

public sealed record ProblemDetails(string? Title, string? Detail, int? Status);

public sealed record CognitoSettings
{
    public string Endpoint { get; init; } = string.Empty;
    public string Region { get; init; } = string.Empty;
    public string UserPoolId { get; init; } = string.Empty;
    public string ClientId { get; init; } = string.Empty;
}
