using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace ImageAspire.ImageService.Lambda;

/// <summary>Turns an ASP.NET Core response into the API Gateway proxy response of the request's payload version.</summary>
public static class ApiGatewayResponse
{
    public static JsonObject Create(ApiGatewayPayloadVersion version, int statusCode, IHeaderDictionary headers, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var isText = IsText(headers.ContentType.ToString());
        var response = new JsonObject
        {
            ["statusCode"] = statusCode,
            ["body"] = body.IsEmpty ? string.Empty : isText ? Encoding.UTF8.GetString(body) : Convert.ToBase64String(body),
            ["isBase64Encoded"] = !body.IsEmpty && !isText,
        };

        if (version == ApiGatewayPayloadVersion.V2)
        {
            var single = new JsonObject();
            var cookies = new JsonArray();
            foreach (var (name, values) in headers)
            {
                if (string.Equals(name, "Set-Cookie", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (var cookie in values)
                    {
                        cookies.Add(cookie);
                    }
                }
                else
                {
                    single[name] = string.Join(',', values.ToArray());
                }
            }

            response["headers"] = single;
            if (cookies.Count > 0)
            {
                response["cookies"] = cookies;
            }
        }
        else
        {
            var multi = new JsonObject();
            foreach (var (name, values) in headers)
            {
                multi[name] = new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
            }

            response["multiValueHeaders"] = multi;
        }

        return response;
    }

    private static bool IsText(string contentType)
    {
        var type = contentType.Split(';')[0].Trim().ToLowerInvariant();
        return type.Length == 0 || type.StartsWith("text/", StringComparison.Ordinal) || type.EndsWith("json", StringComparison.Ordinal)
            || type.EndsWith("xml", StringComparison.Ordinal) || type is "application/javascript" or "application/x-www-form-urlencoded";
    }
}
