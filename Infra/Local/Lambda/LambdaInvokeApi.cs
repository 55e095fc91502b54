using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ImageAspire.LocalLambda;

/// <summary>
/// Lambda's <c>Invoke</c> operation (<c>POST /2015-03-31/functions/{name}/invocations</c>), so the commands that
/// invoke the function in AWS (the redrive) run unchanged against the local service with <c>--endpoint-url</c>:
/// <c>X-Amz-Invocation-Type</c> <c>RequestResponse</c> (the default) answers the function's payload, with
/// <c>X-Amz-Function-Error</c> when it failed; <c>Event</c> queues it as S3 would (202); <c>DryRun</c> answers 204.
/// Like the Runtime API it takes no credentials: it listens on the loopback interface only.
/// </summary>
public sealed class LambdaInvokeApi(LocalLambdaFunction function, AsyncInvocations asynchronous, string functionArn, TimeSpan timeout)
{
    public void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/2015-03-31/functions/{name}/invocations", InvokeAsync);
    }

    private async Task InvokeAsync(string name, HttpContext context)
    {
        var response = context.Response;
        var functionName = functionArn[(functionArn.LastIndexOf(':') + 1)..];
        if (name != functionName && name != functionArn)
        {
            await Results.Json(new { Type = "User", message = $"Function not found: {name}" }, statusCode: 404).ExecuteAsync(context);
            response.Headers["X-Amzn-ErrorType"] = "ResourceNotFoundException";
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var payload = body.Length == 0 ? "{}"u8.ToArray() : body.ToArray();
        switch (context.Request.Headers["X-Amz-Invocation-Type"].ToString())
        {
            case "Event":
                response.Headers["X-Amzn-RequestId"] = asynchronous.Enqueue(payload);
                response.StatusCode = StatusCodes.Status202Accepted;
                return;
            case "DryRun":
                response.StatusCode = StatusCodes.Status204NoContent;
                return;
            case "" or "RequestResponse":
                var result = await function.InvokeAsync(payload, timeout, context.RequestAborted);
                response.Headers["X-Amz-Executed-Version"] = "$LATEST";
                if (result.IsError)
                {
                    response.Headers["X-Amz-Function-Error"] = "Unhandled";
                }

                response.ContentType = "application/json";
                await response.Body.WriteAsync(result.Payload, context.RequestAborted);
                return;
            default:
                response.Headers["X-Amzn-ErrorType"] = "InvalidParameterValueException";
                await Results.Json(new { Type = "User", message = "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun" }, statusCode: 400).ExecuteAsync(context);
                return;
        }
    }
}
