using ImageAspire.LocalAws.Templates;
using ImageAspire.LocalEdge;
using Microsoft.Extensions.Options;

// CloudFront's part, locally: one origin for the web app, /api/* and /media/*, with the path patterns, origins
// and security headers of the template's distribution.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

// Read before the host is built: the routes and clusters are made from it. Checked now, with the same validator that
// ValidateOnStart runs, so a missing value is named instead of failing somewhere inside YARP.
var settings = builder.Configuration.GetSection(EdgeOptions.SectionName).Get<EdgeOptions>() ?? new EdgeOptions();
if (new EdgeOptionsValidator().Validate(null, settings) is { Failed: true } invalid)
{
    throw new OptionsValidationException(EdgeOptions.SectionName, typeof(EdgeOptions), invalid.Failures);
}

var template = CloudFormationTemplate.Load(settings.Template);
var definition = EdgeDefinition.FromTemplate(template, new TemplateContext(template, new Dictionary<string, string>
{
    ["Stage"] = settings.Stage,
    ["WebScriptSources"] = InlineScripts.Placeholder,
}));
builder.Services.AddSingleton(definition);
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(new SignedAccess(settings.TrustedKeys.ToDictionary(k => k.Key, k =>
{
    var key = System.Security.Cryptography.RSA.Create();
    key.ImportFromPem(k.Value);
    return key;
}), TimeProvider.System));
builder.Services.AddReverseProxy().LoadFromMemory(EdgeProxy.Routes(definition), EdgeProxy.Clusters(settings))
    .AddTransforms(context => EdgeProxy.AddTransforms(context, definition, settings));

var app = builder.Build();
app.UseMiddleware<SecurityHeadersMiddleware>();
app.UseMiddleware<SignedAccessMiddleware>();
app.MapDefaultEndpoints();
// The web app's runtime configuration, as Infra/Deploy/deploy.sh writes it next to the app in AWS.
app.MapGet("/appsettings.json", (HttpContext context, IConfiguration configuration) =>
{
    context.Response.Headers.CacheControl = "no-cache";
    return Results.Json(new { Cognito = configuration.GetSection("Cognito").GetChildren().ToDictionary(c => c.Key, c => c.Value) });
});
app.MapReverseProxy();
// Everything no route took is the web bucket's ("{**path}": the default fallback pattern skips paths that look like files).
app.MapFallback("{**path}", context => StaticSite.ServeAsync(context, context.RequestServices.GetRequiredService<EdgeOptions>(),
    context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StaticSite))));
await app.RunAsync();
