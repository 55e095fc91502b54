using ImageAspire.AppHost.LocalAws;

var builder = DistributedApplication.CreateBuilder(args);

var aws = builder.AddLocalAws();

var imageService = builder.AddProject<Projects.ImageService>("imageservice")
    .WithLocalAws(aws)
    .WithHttpHealthCheck("/health");

aws.WithS3EventWebhook(imageService, "/internal/s3-events");

builder.Build().Run();
