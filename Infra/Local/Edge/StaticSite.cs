using Microsoft.AspNetCore.StaticFiles;

namespace ImageAspire.LocalEdge;

/// <summary>
/// The web bucket: files of the published app, precompressed variants when the browser takes them, and the
/// template's SPA rule (a path without a file extension is a client-side route → /index.html).
/// </summary>
public static class StaticSite
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = CreateContentTypes();

    private static readonly (string Encoding, string Extension)[] Encodings = [("br", ".br"), ("gzip", ".gz")];

    public static async Task ServeAsync(HttpContext context, EdgeSettings settings, ILogger logger)
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
        // File names are not fingerprinted (see Web.csproj): everything is revalidated.
        response.Headers.CacheControl = "no-cache";
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

        response.ContentLength = new FileInfo(file).Length;
        if (HttpMethods.IsGet(request.Method))
        {
            await response.SendFileAsync(file, context.RequestAborted);
        }
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
