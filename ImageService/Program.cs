using ImageAspire.ImageService.Apis;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddImageServices();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

if (app.Environment.IsDevelopment())
{
    app.MapOpenApi().AllowAnonymous();
    app.MapScalarApiReference().AllowAnonymous();
}

app.MapDefaultEndpoints();
app.MapMeApi();
app.MapImagesApi();
app.MapUploadsApi();
app.MapSettingsApi();
app.MapMediaApi();
app.MapS3EventsApi();

app.RunService();

public partial class Program;
