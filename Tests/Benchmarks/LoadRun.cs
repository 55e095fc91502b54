using ImageAspire.Tests.Support;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.AppHost;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.ImageService.Processing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Benchmarks;

/// <summary>
/// End-to-end: N uploads with C concurrent clients against the real AppHost (web mode), latency percentiles and
/// throughput, and upload→201 against the pipeline alone on the same image.
/// </summary>
public static class LoadRun
{
    public static async Task RunAsync(int uploads, int concurrency)
    {
        var image = Inputs.PhotoJpeg(1920, 1080);
        var pipeline = new NetVipsImagePipeline(Microsoft.Extensions.Options.Options.Create(new ProcessingOptions
        {
            FontFile = Path.Combine(AppContext.BaseDirectory, "Assets", "fonts", "DejaVuSans-Bold.ttf"),
        }));
        var pipelineTimes = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            pipeline.ProcessAll(image, ProcessingSettings.Default);
            if (i >= 5)
            {
                pipelineTimes.Add(stopwatch.Elapsed.TotalMilliseconds);
            }
        }

        var (app, environment) = await BenchmarkAppHost.StartAsync();
        await using var appLifetime = app;
        using var cognitoHttp = new HttpClient();
        var cognito = new CognitoClient(cognitoHttp, app.GetEndpoint("cognito", "http"));

        // The per-user rate limit (burst 60, 5/s) is part of the service; spread the load over enough users.
        var clients = new List<HttpClient>();
        for (var i = 0; i < Math.Max(1, uploads / 40); i++)
        {
            var email = $"load-{Guid.NewGuid():N}@example.com";
            await cognito.SignUpAndConfirmAsync(environment["UserPoolClientId"], email, "Load-pass1", LocalAwsBackend.ConfirmationCode);
            var tokens = await cognito.SignInAsync(environment["UserPoolClientId"], email, "Load-pass1");
            var client = app.CreateHttpClient("imageservice", "http");
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            clients.Add(client);
        }

        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<HttpStatusCode, int>();
        using var gate = new SemaphoreSlim(concurrency);
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, uploads).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                using var form = new MultipartFormDataContent();
                var content = new ByteArrayContent(image);
                content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                form.Add(content, "file", $"{i}.jpg");
                var stopwatch = Stopwatch.StartNew();
                using var response = await clients[i % clients.Count].PostAsync(new Uri("/api/images", UriKind.Relative), form);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
                }
                else
                {
                    errors.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        total.Stop();

        var sorted = latencies.Order().ToList();
        double Percentile(double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
        pipelineTimes.Sort();
        var pipelineMedian = pipelineTimes[pipelineTimes.Count / 2];
        Console.WriteLine($"input: {image.Length / 1024} KiB 1920x1080 JPEG; {uploads} uploads, {concurrency} concurrent clients, {clients.Count} users");
        Console.WriteLine($"upload -> 201: p50 {Percentile(0.50):0} ms, p95 {Percentile(0.95):0} ms, p99 {Percentile(0.99):0} ms; throughput {sorted.Count / total.Elapsed.TotalSeconds:0.0} images/s");
        Console.WriteLine($"errors: {(errors.IsEmpty ? "none" : string.Join(", ", errors.Select(e => $"{(int)e.Key} x{e.Value}")))}");
        Console.WriteLine($"pipeline alone (same image, one at a time): median {pipelineMedian:0} ms; upload p50 / pipeline = {Percentile(0.50) / pipelineMedian:0.00}");
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
