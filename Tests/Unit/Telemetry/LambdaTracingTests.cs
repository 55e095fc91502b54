using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>In Lambda, the Runtime API client's own HTTP calls are not traced; the invocation's calls still are.</summary>
public sealed class LambdaTracingTests
{
    [Fact]
    public async Task Calls_to_the_runtime_API_leave_no_span_and_other_calls_do()
    {
        var endpointBuilder = WebApplication.CreateSlimBuilder();
        endpointBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var endpoint = endpointBuilder.Build();
        endpoint.MapGet("/{**path}", () => Results.Ok());
        await endpoint.StartAsync(TestContext.Current.CancellationToken);
        var port = new Uri(endpoint.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;

        var spans = new List<Activity>();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{port}" });
        builder.ConfigureOpenTelemetry();
        builder.AddLambdaHosting();
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddProcessor(new Collect(spans)));
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        _ = host.Services.GetRequiredService<TracerProvider>();

        using var http = new HttpClient();
        using (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/2018-06-01/runtime/invocation/next"), TestContext.Current.CancellationToken))
        using (await http.GetAsync(new Uri($"http://localhost:{port}/renditions/key"), TestContext.Current.CancellationToken))
        {
        }

        lock (spans)
        {
            var client = spans.Where(s => s.Kind == ActivityKind.Client).Select(s => s.GetTagItem("url.full")?.ToString()).ToList();
            Assert.Equal([$"http://localhost:{port}/renditions/key"], client);
        }

        await host.StopAsync(TestContext.Current.CancellationToken);
        await endpoint.StopAsync(TestContext.Current.CancellationToken);
    }

    private sealed class Collect(List<Activity> spans) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            lock (spans)
            {
                spans.Add(data);
            }
        }
    }
}
