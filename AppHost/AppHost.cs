using Microsoft.Extensions.Configuration;
using ImageAspire.AppHost.LocalAws;

var builder = DistributedApplication.CreateBuilder(args);

var aws = builder.AddLocalAws();

var imageService = builder.AddProject<Projects.ImageService>("imageservice")
    .WithLocalAws(aws);

// ImageService:Mode=lambda runs the same project as a Lambda function behind the local HTTP API.
IResourceBuilder<ProjectResource> api = imageService;
if (string.Equals(builder.Configuration["ImageService:Mode"], "lambda", StringComparison.OrdinalIgnoreCase))
{
    api = builder.AddLocalLambda("lambda", aws, imageService);
}
else
{
    imageService.WithHttpHealthCheck("/health");
    aws.WithS3EventWebhook(imageService, "/internal/s3-events");
}

if (builder.Configuration.GetValue("Web:Enabled", true))
{
    builder.AddLocalEdge(aws, api);
}

builder.Build().Run();
