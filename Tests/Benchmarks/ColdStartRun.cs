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

        // Storage reachable, as it is in AWS: the init phase reads the settings and opens a connection to S3.
        var (app, environment) = await BenchmarkAppHost.StartAsync();
        await using var appLifetime = app;
        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(CancellationToken.None);
        var function = lambda.StartInfo(service, app.GetEndpoint("s3", "http"), app.GetEndpoint("dynamodb", "http"), environment);
        function.Environment["Logging__LogLevel__Default"] = "Warning";
        function.Environment["Processing__MaxUploadBytes"] = (64 * 1024 * 1024).ToString(CultureInfo.InvariantCulture);

        var serviceTimes = new List<double>();
        var trivialTimes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            // Alternated, so that whatever else the machine does falls on both alike.
            trivialTimes.Add(await HealthColdStartAsync(lambda, lambda.StartInfo(trivial)));
            serviceTimes.Add(await HealthColdStartAsync(lambda, function));
        }

        var serviceMedian = Median(serviceTimes);
        var trivialMedian = Median(trivialTimes);
        Console.WriteLine($"cold start ({LambdaBootstrap.HostRid}, process start -> first response, {runs} runs each): "
            + $"service median {serviceMedian:0} ms (min {serviceTimes.Min():0}, max {serviceTimes.Max():0}); "
            + $"trivial AOT client median {trivialMedian:0} ms (min {trivialTimes.Min():0}, max {trivialTimes.Max():0}); ratio {serviceMedian / trivialMedian:0.0}x");

        await UploadsAsync(lambda, function, runs);
    }

    /// <summary>Process start → the answer to a <c>GET /health</c> invocation queued before it.</summary>
    private static async Task<double> HealthColdStartAsync(LambdaBootstrap lambda, ProcessStartInfo start)
    {
        var invocation = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), CancellationToken.None);
        await using var process = BootstrapProcess.Start(start);
        var result = await invocation;
        var elapsed = process.Age.TotalMilliseconds;
        if (result.IsError || (int?)JsonNode.Parse(result.Payload)?["statusCode"] != 200)
        {
            throw new InvalidOperationException(Encoding.UTF8.GetString(result.Payload));
        }

        return elapsed;
    }

    /// <summary>
    /// Against the emulators: the first upload after a cold start (fresh processes, median of
    /// <paramref name="runs"/>), warm uploads, a 24 MP upload; peak RSS.
    /// </summary>
    private static async Task UploadsAsync(LambdaBootstrap lambda, ProcessStartInfo start, int runs)
    {
        var photo = Inputs.PhotoJpeg(1920, 1080);

        // The emulators are Node processes whose first requests run cold JavaScript; S3 and DynamoDB in AWS never are.
        // A first bootstrap's uploads warm them, and are reported apart, so that what follows measures the function's
        // cold start and not the emulators'.
        await using (var warmer = BootstrapProcess.Start(start))
        {
            var emulatorsCold = await FirstUploadAsync(warmer, lambda, photo);
            for (var i = 0; i < 3; i++)
            {
                await UploadAsync(lambda, photo);
            }

            Console.WriteLine($"first upload of the run, the emulators' first upload too (not the figure): {emulatorsCold:0} ms");
        }

        var cold = new List<double>();
        for (var run = 0; run < runs - 1; run++)
        {
            await using var fresh = BootstrapProcess.Start(start);
            cold.Add(await FirstUploadAsync(fresh, lambda, photo));
        }

        // The last one stays for the warm uploads.
        await using var process = BootstrapProcess.Start(start);
        cold.Add(await FirstUploadAsync(process, lambda, photo));
        var firstRss = PeakRssKib(process.Process);

        var warm = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            warm.Add(await UploadAsync(lambda, photo));
        }

        Console.WriteLine($"first upload after a cold start (2 MP JPEG, 6 renditions, process start -> 201, {runs} fresh processes): "
            + $"median {Median(cold):0} ms (min {cold.Min():0}, max {cold.Max():0}); peak RSS {firstRss / 1024} MiB");
        // All of them: a wide spread says the machine was busy with something else, and the ratio below is not the code's.
        Console.WriteLine($"  each: {string.Join(' ', cold.Order().Select(t => t.ToString("0", CultureInfo.InvariantCulture)))} ms");
        Console.WriteLine($"warm uploads (2 MP JPEG, 20): p50 {Median(warm):0} ms, max {warm.Max():0} ms; peak RSS {PeakRssKib(process.Process) / 1024} MiB");
        Console.WriteLine($"first upload after a cold start / warm p50: {Median(cold) / Median(warm):0.00}x");

        var large = Inputs.PhotoJpeg(6000, 4000);
        var largeTime = await UploadAsync(lambda, large);
        Console.WriteLine($"24 MP JPEG ({Mib(large.Length)} MiB) upload: {largeTime:0} ms; peak RSS after it {PeakRssKib(process.Process) / 1024} MiB");
    }

    /// <summary>Process start → the first upload's 201.</summary>
    private static async Task<double> FirstUploadAsync(BootstrapProcess process, LambdaBootstrap lambda, byte[] image)
    {
        await UploadAsync(lambda, image);
        return process.Age.TotalMilliseconds;
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
