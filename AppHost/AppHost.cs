using ImageAspire.AppHost;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);
var root = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));

var aws = builder.AddLocalAws(Path.Combine(root, "Infra", "Deploy", "template.yaml"),
    [LocalEdgeExtensions.EdgeOrigin(builder.Configuration)], LocalUsers.Demo, LocalUsers.Admin);
var issuer = aws.Issuer("UserPoolId");
var clientId = aws.Output("UserPoolClientId");
var lambdaMode = string.Equals(builder.Configuration["ImageService:Mode"], "lambda", StringComparison.OrdinalIgnoreCase);

// ImageService:Mode=lambda runs the service as a Lambda function behind the local HTTP API: the project itself, or
// with ImageService:Bootstrap=<folder>, a published Native AOT bootstrap as it deploys.
IResourceBuilder<IResourceWithEndpoints> api;
if (lambdaMode && builder.Configuration["ImageService:Bootstrap"] is { Length: > 0 } bootstrap)
{
    var function = builder.AddExecutable("imageservice", Path.Combine(bootstrap, "bootstrap"), bootstrap)
        .WithImageServiceEnvironment(aws, issuer);
    api = builder.AddLocalLambda("lambda", aws, function, "ImageFunction", issuer, clientId);
}
else
{
    var imageService = builder.AddProject<Projects.ImageService>("imageservice")
        .WithImageServiceEnvironment(aws, issuer);
    if (lambdaMode)
    {
        api = builder.AddLocalLambda("lambda", aws, imageService, "ImageFunction", issuer, clientId);
    }
    else
    {
        api = imageService.WithHttpHealthCheck("/health");
        aws.WithS3EventWebhook(imageService, "/internal/s3-events");
    }
}

if (builder.Configuration.GetValue("Web:Enabled", true))
{
    builder.AddLocalEdge(aws, api, Path.Combine(root, "Web", "Web.csproj"), Path.Combine(root, "artifacts", "web-local"),
        "RenditionsBucket", aws.Output("UserPoolId"), clientId);
}

builder.Build().Run();
