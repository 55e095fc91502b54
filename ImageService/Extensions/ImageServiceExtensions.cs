namespace Microsoft.Extensions.Hosting;

public static class ImageServiceExtensions
{
    public static IHostApplicationBuilder AddImageServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddCognitoAuthentication();
        return builder;
    }
}
