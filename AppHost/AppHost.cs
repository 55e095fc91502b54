using ImageAspire.AppHost;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);
var root = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));

var aws = builder.AddLocalAws(Path.Combine(root, "Infra", "Deploy", "template.yaml"),
    [LocalEdgeExtensions.EdgeOrigin(builder.Configuration)], LocalUsers.Demo, LocalUsers.Admin);
var issuer = aws.Issuer("UserPoolId");
var clientId = aws.Output("UserPoolClientId");

// What the template gives the function in AWS, from the same template's outputs.
var imageService = builder.AddProject<Projects.ImageService>("imageservice")
    .WithLocalAws(aws)
    .WithEnvironment("Storage__OriginalsBucket", aws.Output("OriginalsBucketName"))
    .WithEnvironment("Storage__RenditionsBucket", aws.Output("RenditionsBucketName"))
    .WithEnvironment("Storage__Table", aws.Output("ImagesTableName"))
    .WithEnvironment("Auth__Issuer", issuer)
    .WithEnvironment("Auth__ClientId", clientId)
    .WithEnvironment("Auth__AdminsGroup", aws.Output("AdminsGroupName"))
    // The local issuer is plain http; production configuration leaves this on.
    .WithEnvironment("Auth__RequireHttpsMetadata", "false")
    .WithEnvironment("MALLOC_ARENA_MAX", "2")
    .WithS3EventSecret(aws);

// ImageService:Mode=lambda runs the same project as a Lambda function behind the local HTTP API.
IResourceBuilder<ProjectResource> api = imageService;
if (string.Equals(builder.Configuration["ImageService:Mode"], "lambda", StringComparison.OrdinalIgnoreCase))
{
    api = builder.AddLocalLambda("lambda", aws, imageService, "ImageFunction", issuer, clientId);
}
else
{
    imageService.WithHttpHealthCheck("/health");
    aws.WithS3EventWebhook(imageService, "/internal/s3-events");
}

if (builder.Configuration.GetValue("Web:Enabled", true))
{
    builder.AddLocalEdge(aws, api, Path.Combine(root, "Web", "Web.csproj"), Path.Combine(root, "artifacts", "web-local"),
        "RenditionsBucket", aws.Output("UserPoolId"), clientId);
}

builder.Build().Run();
