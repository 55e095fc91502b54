using ImageAspire.Hosting.LocalAws;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = args, DisableDashboard = true });

var aws = builder.AddLocalAws(Path.Combine(builder.AppHostDirectory, "..", "template.yaml"), [],
    new SeedUser("reader@example.com", "Consumer-Pass1"));
var function = builder.AddProject<Projects.Consumer_Function>("function")
    .WithLocalAws(aws)
    .WithFunctionEnvironment(aws, "NotesFunction");
var api = builder.AddLocalLambda("lambda", aws, function, "NotesFunction", aws.Issuer("UserPoolId"), aws.Output("UserPoolClientId"));

var app = builder.Build();
await app.StartAsync();

// What the test needs to call it, once the HTTP API answers: written to the file it names.
var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
await notifications.WaitForResourceHealthyAsync("lambda");
await notifications.WaitForResourceAsync("function", KnownResourceStates.Running);
var endpoints = new Dictionary<string, string?>
{
    ["HttpApi"] = api.GetEndpoint("http").Url,
    ["S3"] = await aws.S3Endpoint.GetValueAsync(),
    ["DynamoDb"] = await aws.DynamoDbEndpoint.GetValueAsync(),
    ["Cognito"] = await aws.CognitoEndpoint.GetValueAsync(),
    ["Bucket"] = await aws.Output("UploadsBucketName").GetValueAsync(),
    ["Table"] = await aws.Output("NotesTableName").GetValueAsync(),
    ["ClientId"] = await aws.Output("UserPoolClientId").GetValueAsync(),
    ["AccessKeyId"] = aws.AccessKeyId,
    // Where the local Lambda service runs from (the test checks it is the package).
    ["LambdaDirectory"] = builder.Resources.OfType<ExecutableResource>().SingleOrDefault(r => r.Name == "lambda")?.WorkingDirectory,
};
var ready = Environment.GetEnvironmentVariable("CONSUMER_READY_FILE") ?? Path.Combine(builder.AppHostDirectory, "ready.json");
await File.WriteAllTextAsync(ready + ".tmp", System.Text.Json.JsonSerializer.Serialize(endpoints));
File.Move(ready + ".tmp", ready, overwrite: true);

await app.WaitForShutdownAsync();
