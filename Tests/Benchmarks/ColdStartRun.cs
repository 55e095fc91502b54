using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageAspire.Benchmarks;

/// <summary>
/// The Native AOT Lambda bootstrap: cold start (process start → first response to an HTTP API <c>GET /health</c>,
/// an invocation waiting) against a trivial Native AOT Runtime API client built in the same run; the first upload
/// after a cold start (libvips loads then) and warm uploads against the local emulators, with peak RSS; the
/// deployable linux-arm64 zip's size.
/// </summary>
public static class ColdStartRun
{
    public static async Task RunAsync(int runs)
    {
        var service = Repository.PathOf("artifacts", $"bench-lambda-{LambdaBootstrap.HostRid}");
        await PublishAsync(LambdaBootstrap.PublishArguments(LambdaBootstrap.HostRid, service), service);
        var trivial = Repository.PathOf("artifacts", $"bench-trivial-{LambdaBootstrap.HostRid}");
        await PublishAsync(["publish", Repository.PathOf("Tests", "TrivialBootstrap", "TrivialBootstrap.csproj"), "-c", "Release", "-r", LambdaBootstrap.HostRid, "-o", trivial], trivial);
        var arm = Repository.PathOf("artifacts", "bench-lambda-linux-arm64");
        await PublishAsync(LambdaBootstrap.PublishArguments("linux-arm64", arm), arm);

        var zip = Repository.PathOf("artifacts", "lambda-linux-arm64.zip");
        File.Delete(zip);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            foreach (var file in LambdaBootstrap.DeployedFiles(arm))
            {
                archive.CreateEntryFromFile(file, Path.GetRelativePath(arm, file), CompressionLevel.SmallestSize);
            }
        }

        Console.WriteLine($"deployable zip (linux-arm64, Native AOT): {Mib(new FileInfo(zip).Length)} MiB zipped, {Mib(LambdaBootstrap.DeployedFiles(arm).Sum(f => new FileInfo(f).Length))} MiB unzipped "
            + $"(bootstrap {Mib(new FileInfo(Path.Combine(arm, "bootstrap")).Length)} MiB, libvips {Mib(new FileInfo(Path.Combine(arm, "libvips.so.42")).Length)} MiB)");

        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(CancellationToken.None);
        var serviceTimes = new List<double>();
        var trivialTimes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            // Alternated, so that whatever else the machine does falls on both alike.
            trivialTimes.Add((await ColdStartAsync(lambda, lambda.StartInfo(trivial))).Milliseconds);
            serviceTimes.Add((await ColdStartAsync(lambda, lambda.StartInfo(service))).Milliseconds);
        }

        var serviceMedian = Median(serviceTimes);
        var trivialMedian = Median(trivialTimes);
        Console.WriteLine($"cold start ({LambdaBootstrap.HostRid}, process start -> first response, {runs} runs each): "
            + $"service median {serviceMedian:0} ms (min {serviceTimes.Min():0}, max {serviceTimes.Max():0}); "
            + $"trivial AOT client median {trivialMedian:0} ms (min {trivialTimes.Min():0}, max {trivialTimes.Max():0}); ratio {serviceMedian / trivialMedian:0.0}x");

        await UploadsAsync(lambda, service);
    }

    private static async Task<(double Milliseconds, long PeakRssKib)> ColdStartAsync(LambdaBootstrap lambda, ProcessStartInfo start)
    {
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var invocation = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), CancellationToken.None);
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        var result = await invocation;
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        var rss = PeakRssKib(process);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        // Its last /next long-poll must be seen as closed before the next run queues an invocation.
        await Task.Delay(TimeSpan.FromMilliseconds(250));
        if (result.IsError || (int?)JsonNode.Parse(result.Payload)?["statusCode"] != 200)
        {
            throw new InvalidOperationException($"{Encoding.UTF8.GetString(result.Payload)}\n{string.Join('\n', await output)}");
        }

        return (elapsed, rss);
    }

    /// <summary>Against the emulators of an AppHost: first upload after a cold start, warm uploads, a 24 MP upload; peak RSS.</summary>
    private static async Task UploadsAsync(LambdaBootstrap lambda, string service)
    {
        var (app, environment) = await BenchmarkAppHost.StartAsync();
        await using var appLifetime = app;

        var start = lambda.StartInfo(service, app.GetEndpoint("s3", "http"), app.GetEndpoint("dynamodb", "http"), environment);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Processing__MaxUploadBytes"] = (64 * 1024 * 1024).ToString(CultureInfo.InvariantCulture);

        var photo = Inputs.PhotoJpeg(1920, 1080);
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        try
        {
            var first = await UploadAsync(lambda, photo);
            Console.WriteLine($"first upload after a cold start (2 MP JPEG, 6 renditions, process start -> 201): {stopwatch.Elapsed.TotalMilliseconds:0} ms, "
                + $"of which the upload invocation {first:0} ms; peak RSS {PeakRssKib(process) / 1024} MiB");

            var warm = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                warm.Add(await UploadAsync(lambda, photo));
            }

            Console.WriteLine($"warm uploads (2 MP JPEG, 20): p50 {Median(warm):0} ms, max {warm.Max():0} ms; peak RSS {PeakRssKib(process) / 1024} MiB");

            var large = Inputs.PhotoJpeg(6000, 4000);
            var largeTime = await UploadAsync(lambda, large);
            Console.WriteLine($"24 MP JPEG ({Mib(large.Length)} MiB) upload: {largeTime:0} ms; peak RSS after it {PeakRssKib(process) / 1024} MiB");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _ = await output;
    }

    private static async Task<double> UploadAsync(LambdaBootstrap lambda, byte[] image)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = await lambda.UploadAsync(LambdaBootstrap.Claims($"bench-{Guid.NewGuid():N}"), image, TimeSpan.FromSeconds(90), CancellationToken.None);
        var elapsed = stopwatch.Elapsed.TotalMilliseconds;
        if (result.IsError || (int?)JsonNode.Parse(result.Payload)?["statusCode"] != 201)
        {
            throw new InvalidOperationException(Encoding.UTF8.GetString(result.Payload));
        }

        return elapsed;
    }

    /// <summary>VmHWM of a running process: the most resident memory it has had.</summary>
    private static long PeakRssKib(Process process)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    // Always: a publish of unchanged code is quick, and a kept one would measure an old build.
    private static async Task PublishAsync(IEnumerable<string> arguments, string output)
    {
        var (exitCode, log) = await Repository.RunAsync("dotnet", arguments, Repository.Root, CancellationToken.None);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"publish of {output} failed: {log}");
        }
    }

    /// <summary>What deploy.sh puts in the zip: everything but native symbols.</summary>
    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string Mib(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);
}
