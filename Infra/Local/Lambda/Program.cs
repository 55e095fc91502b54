using ImageAspire.LocalLambda;


// The local stand-in for AWS Lambda and the API Gateway HTTP API in front of it: the Runtime API the
// function process polls, the /api/* route with the Cognito JWT authorizer, and S3 event delivery.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSingleton(new LocalLambdaFunction(builder.Configuration["Lambda:FunctionArn"] ?? LocalLambdaFunction.DefaultArn));
builder.Services.AddHttpClient();

var app = builder.Build();
var configuration = app.Configuration;
var function = app.Services.GetRequiredService<LocalLambdaFunction>();
var authorizer = new ApiGatewayJwtAuthorizer(
    app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("jwks"),
    configuration["Auth:Issuer"] ?? throw new InvalidOperationException("Auth:Issuer is required."),
    [configuration["Auth:ClientId"] ?? throw new InvalidOperationException("Auth:ClientId is required.")]);
var api = new LocalHttpApi(function, authorizer, configuration["S3Events:SecretHeader"] ?? string.Empty, configuration["S3Events:Secret"] ?? string.Empty,
    TimeSpan.FromSeconds(configuration.GetValue("Lambda:TimeoutSeconds", 30)));

app.MapDefaultEndpoints();
function.MapRuntimeApi(app);
api.Map(app);
app.Run();
