using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ImageAspire.ImageService.Telemetry;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>The EMF reader as the service registers it, beside an OTLP exporter that never answers.</summary>
[Collection(ConsoleOutput.Name)]
public sealed class EmfReaderWiringTests
{
    [Fact]
    public void The_emf_reader_writes_its_lines_however_slow_the_other_exporters_are()
    {
        // An OTLP endpoint that accepts connections and never answers: a flush of the whole provider waits on it.
        using var blackhole = new TcpListener(IPAddress.Loopback, 0);
        blackhole.Start();
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [ImageServiceTelemetry.EmfNamespaceKey] = "imageaspire/test",
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{((IPEndPoint)blackhole.LocalEndpoint).Port}",
            });
            builder.ConfigureOpenTelemetry();
            builder.AddImageServiceTelemetry();
            using var host = builder.Build();
            host.Start();
            ImageAspire.ImageService.Processing.ImageTelemetry.ImagesProcessed.Add(1);

            Assert.True(host.Services.GetRequiredService<EmfMetricReader>().Collect(2000));
            Assert.Contains("\"imageaspire.images.processed\":1", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Console.SetOut(previous);
        }
    }
}

/// <summary>Tests that redirect the process's console run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleOutput
{
    public const string Name = "console-output";
}
