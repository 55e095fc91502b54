using ImageAspire.LocalAws;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace ImageAspire.LocalLambda;

/// <summary>
/// The template's bucket notification, locally: the local S3 POSTs its object events here and they are invoked on the
/// function asynchronously, as S3 invokes it. Lambda accepts the event at once and owns its retries and its on-failure
/// destination from then on; the local S3 retries only a delivery that was not accepted.
/// </summary>
public sealed class S3EventIntake(AsyncInvocations asynchronous, IOptions<S3EventWebhookOptions> webhook)
{
    public const string Path = "/_local/s3-events";

    public void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(Path, DeliverAsync);
    }

    private async Task<IResult> DeliverAsync(HttpRequest request)
    {
        if (!webhook.Value.Authorizes(request))
        {
            return Results.Unauthorized();
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
        return Results.Accepted(value: new { requestId = asynchronous.Enqueue(body.ToArray()) });
    }
}
