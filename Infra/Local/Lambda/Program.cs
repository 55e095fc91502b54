using Amazon.S3;
using ImageAspire.LocalLambda;

// The local stand-in for AWS Lambda and the API Gateway HTTP API in front of it: the Runtime API the function process
// polls, the /api/* route with the Cognito JWT authorizer, S3 events invoked asynchronously with retries and an
// on-failure bucket, and the Invoke operation.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
var configuration = builder.Configuration;
var functionArn = configuration["Lambda:FunctionArn"] ?? LocalLambdaFunction.DefaultArn;
var timeout = TimeSpan.FromSeconds(configuration.GetValue("Lambda:TimeoutSeconds", 30));
builder.Services.AddSingleton(new LocalLambdaFunction(functionArn));
builder.Services.AddSingleton(new AsyncInvokeConfig(
    configuration.GetValue("Lambda:Async:MaximumRetryAttempts", 2),
    TimeSpan.FromSeconds(configuration.GetValue("Lambda:Async:MaximumEventAgeSeconds", 21600)),
    configuration["Lambda:Async:OnFailureBucket"],
    TimeSpan.FromSeconds(configuration.GetValue("Lambda:Async:RetryDelaySeconds", 5.0))));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<IAmazonS3>(_ => new AmazonS3Client(new AmazonS3Config
{
    ServiceURL = configuration["AWS_ENDPOINT_URL_S3"] ?? throw new InvalidOperationException("AWS_ENDPOINT_URL_S3 is required."),
    ForcePathStyle = true,
    AuthenticationRegion = configuration["AWS_REGION"] ?? "us-east-1",
}));
builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<AsyncInvocations>(sp, timeout, functionArn));
builder.Services.AddHttpClient();
builder.Services.AddOptions<ImageAspire.LocalAws.S3EventWebhookOptions>().BindConfiguration(ImageAspire.LocalAws.S3EventWebhookOptions.SectionName).ValidateOnStart();
builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ImageAspire.LocalAws.S3EventWebhookOptions>, ImageAspire.LocalAws.S3EventWebhookOptionsValidator>();
builder.Services.AddSingleton<S3EventIntake>();

var app = builder.Build();
var function = app.Services.GetRequiredService<LocalLambdaFunction>();
var asynchronous = app.Services.GetRequiredService<AsyncInvocations>();
var authorizer = new ApiGatewayJwtAuthorizer(
    app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("jwks"),
    configuration["Auth:Issuer"] ?? throw new InvalidOperationException("Auth:Issuer is required."),
    [configuration["Auth:ClientId"] ?? throw new InvalidOperationException("Auth:ClientId is required.")]);
var api = new LocalHttpApi(function, authorizer, HttpApiRoute.Parse(configuration["HttpApi:RouteKey"], configuration["HttpApi:Stage"]), timeout);

app.MapDefaultEndpoints();
function.MapRuntimeApi(app);
api.Map(app);
app.Services.GetRequiredService<S3EventIntake>().Map(app);
new LambdaInvokeApi(function, asynchronous, functionArn, timeout).Map(app);
app.Run();
