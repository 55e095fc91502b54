using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.Hosting.LocalAws;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Benchmarks;

/// <summary>The real AppHost in web mode without the web app, for the runs that need the emulators or the service.</summary>
public static class BenchmarkAppHost
{
    public static async Task<(DistributedApplication App, ProvisionedEnvironment Environment)> StartAsync(IReadOnlyDictionary<string, string>? serviceEnvironment = null)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["Web:Enabled=false"]);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        var service = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "imageservice"));
        foreach (var (name, value) in serviceEnvironment ?? new Dictionary<string, string>())
        {
            service.WithEnvironment(name, value);
        }

        var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("imageservice");
        var environment = await app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ProvisioningResource>().Single().Result;
        return (app, environment);
    }
}
