namespace ImageAspire.LocalEdge;

/// <summary>Refuses, as CloudFront does with a 403, a request to a behavior with trusted key groups that is not signed.</summary>
public sealed class SignedAccessMiddleware(RequestDelegate next, EdgeDefinition definition, SignedAccess signedAccess, ILogger<SignedAccessMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (definition.For(context.Request.Path).RequiresSignedAccess && signedAccess.Refusal(context.Request) is { } refusal)
        {
            logger.LogInformation("Refused {Path}: {Reason}", context.Request.Path, refusal);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "text/xml";
            await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{refusal}</Message></Error>");
            return;
        }

        await next(context);
    }
}
