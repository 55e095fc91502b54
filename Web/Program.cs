using ImageAspire.Web;
using ImageAspire.Web.Services;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components.WebAssembly.Hosting;

var builder = WebAssemblyHostBuilder.CreateDefault(args);
builder.RootComponents.Add<App>("#app");
builder.RootComponents.Add<HeadOutlet>("head::after");

// /appsettings.json is written at deploy time (by the AppHost locally, by Infra/Deploy/deploy.sh in AWS).
// Read key by key: the configuration binder would pull two more assemblies (~40 KB) into the first load.
var section = builder.Configuration.GetSection("Cognito");
var cognito = new CognitoSettings
{
    Endpoint = section[nameof(CognitoSettings.Endpoint)] ?? string.Empty,
    Region = section[nameof(CognitoSettings.Region)] ?? string.Empty,
    UserPoolId = section[nameof(CognitoSettings.UserPoolId)] ?? string.Empty,
    ClientId = section[nameof(CognitoSettings.ClientId)] ?? string.Empty,
};
builder.Services.AddSingleton(cognito);
builder.Services.AddScoped(_ => new HttpClient { BaseAddress = new Uri(builder.HostEnvironment.BaseAddress) });
builder.Services.AddScoped(sp => new CognitoClient(new HttpClient(), cognito));
builder.Services.AddScoped<AuthSession>();
builder.Services.AddScoped<ImagesClient>();

await builder.Build().RunAsync();
