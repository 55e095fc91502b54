using Microsoft.AspNetCore.StaticFiles;

namespace ImageAspire.LocalEdge;

/// <summary>
/// The web bucket: files of the published app, precompressed variants when the browser takes them, and the
/// template's SPA rule (a path without a file extension is a client-side route → /index.html). Conditional requests
/// are answered as S3 and CloudFront answer them: an <c>ETag</c> (the MD5 of the bytes sent, as S3's for a single-part
/// object) and <c>Last-Modified</c> on every file, and <c>304 Not Modified</c> when <c>If-None-Match</c> names the
/// ETag or, without it, <c>If-Modified-Since</c> is not older than the file.
/// </summary>
public static class StaticSite
{
    // Keyed by file, size and write time: a rebuilt file gets a new entry.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string File, long Length, DateTime Written), string> ETags = new();

    private static readonly FileExtensionContentTypeProvider ContentTypes = CreateContentTypes();

    private static readonly (string Encoding, string Extension)[] Encodings = [("br", ".br"), ("gzip", ".gz")];

    public const string Immutable = "public, max-age=31536000, immutable";

    public static string CacheControlOf(string path) => path is "/index.html" or "/appsettings.json" ? "no-cache" : Immutable;

    public static async Task ServeAsync(HttpContext context, EdgeOptions settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        var request = context.Request;
        var response = context.Response;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status403Forbidden; // the default behavior allows GET and HEAD only
            return;
        }

        var path = request.Path.Value ?? "/";
        var lastSegment = path[(path.LastIndexOf('/') + 1)..];
        if (!lastSegment.Contains('.', StringComparison.Ordinal))
        {
            path = "/index.html";
        }

        var root = Path.GetFullPath(settings.WebRoot);
        var file = Path.GetFullPath(Path.Combine(root, path.TrimStart('/')));
        if (!file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(file))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        response.ContentType = ContentTypes.TryGetContentType(file, out var type) ? type : "application/octet-stream";
        response.Headers.Vary = "Accept-Encoding";
        // As deploy.sh uploads them: every file of the published app has a content fingerprint in its name (the SDK's,
        // or Web.csproj's FingerprintAppAssets) and never changes; index.html, which names them, is revalidated.
        response.Headers.CacheControl = CacheControlOf(path);
        response.Headers.LastModified = File.GetLastWriteTimeUtc(file).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var accepts = request.Headers.AcceptEncoding.ToString();
        var identityLength = new FileInfo(file).Length;
        foreach (var (encoding, extension) in Encodings)
        {
            if (!accepts.Contains(encoding, StringComparison.OrdinalIgnoreCase) || !File.Exists(file + extension))
            {
                continue;
            }

            // An interrupted build can leave an empty variant of a file that is not empty: serve the file itself.
            if (new FileInfo(file + extension).Length == 0 && identityLength > 0)
            {
                logger.LogWarning("Served {Path} ({Bytes} bytes) without {Encoding}: its precompressed file is empty (an interrupted build?)", path, identityLength, encoding);
                continue;
            }

            response.Headers.ContentEncoding = encoding;
            file += extension;
            break;
        }

        var served = new FileInfo(file);
        var etag = ETags.GetOrAdd((file, served.Length, served.LastWriteTimeUtc), static key =>
        {
            using var stream = File.OpenRead(key.File);
#pragma warning disable CA5351 // S3's ETag is an MD5; it identifies content, it protects nothing.
            return $"\"{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(stream))}\"";
#pragma warning restore CA5351
        });
        response.Headers.ETag = etag;
        if (NotModified(request, etag, File.GetLastWriteTimeUtc(file)))
        {
            response.Headers.Remove("Content-Encoding");
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentLength = served.Length;
        if (HttpMethods.IsGet(request.Method))
        {
            await response.SendFileAsync(file, context.RequestAborted);
        }
    }

    // RFC 9110 13.1.2 and 13.1.3: If-None-Match (weak comparison) decides when present; If-Modified-Since otherwise.
    private static bool NotModified(HttpRequest request, string etag, DateTime lastWrite)
    {
        var ifNoneMatch = request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0)
        {
            return ifNoneMatch.Trim() == "*" || ifNoneMatch.Split(',').Select(t => t.Trim()).Any(t => (t.StartsWith("W/", StringComparison.Ordinal) ? t[2..] : t) == etag);
        }

        return DateTimeOffset.TryParse(request.Headers.IfModifiedSince.ToString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var since)
            && new DateTimeOffset(lastWrite.Ticks - (lastWrite.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero) <= since;
    }

    private static FileExtensionContentTypeProvider CreateContentTypes()
    {
        var provider = new FileExtensionContentTypeProvider();
        provider.Mappings[".wasm"] = "application/wasm";
        provider.Mappings[".dat"] = "application/octet-stream";
        provider.Mappings[".webmanifest"] = "application/manifest+json";
        return provider;
    }
}
