using System.Text;
using System.Text.Json;

namespace ImageAspire.ImageService.Lambda;

/// <summary>Turns an ASP.NET Core response into the API Gateway proxy response of the request's payload version.</summary>
public static class ApiGatewayResponse
{
    public static byte[] Serialize(ApiGatewayPayloadVersion version, int statusCode, IHeaderDictionary headers, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var isText = IsText(headers.ContentType.ToString());
        var text = body.IsEmpty ? string.Empty : isText ? Encoding.UTF8.GetString(body) : Convert.ToBase64String(body);
        var isBase64 = !body.IsEmpty && !isText;
        if (version == ApiGatewayPayloadVersion.V2)
        {
            var single = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var cookies = new List<string>();
            foreach (var (name, values) in headers)
            {
                if (string.Equals(name, "Set-Cookie", StringComparison.OrdinalIgnoreCase))
                {
                    cookies.AddRange(values.OfType<string>());
                }
                else
                {
                    single[name] = string.Join(',', values.ToArray());
                }
            }

            return JsonSerializer.SerializeToUtf8Bytes(
                new HttpApiV2Response(statusCode, single, cookies.Count > 0 ? cookies : null, text, isBase64), LambdaJsonContext.Default.HttpApiV2Response);
        }

        var multi = headers.ToDictionary(h => h.Key, h => (IReadOnlyList<string>)[.. h.Value.OfType<string>()], StringComparer.OrdinalIgnoreCase);
        return JsonSerializer.SerializeToUtf8Bytes(new RestApiV1Response(statusCode, multi, text, isBase64), LambdaJsonContext.Default.RestApiV1Response);
    }

    private static bool IsText(string contentType)
    {
        var type = contentType.Split(';')[0].Trim().ToLowerInvariant();
        return type.Length == 0 || type.StartsWith("text/", StringComparison.Ordinal) || type.EndsWith("json", StringComparison.Ordinal)
            || type.EndsWith("xml", StringComparison.Ordinal) || type is "application/javascript" or "application/x-www-form-urlencoded";
    }
}
