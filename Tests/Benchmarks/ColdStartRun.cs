using System.Diagnostics;
using System.IO.Compression;
using ImageAspire.Tests.Support;

namespace ImageAspire.Benchmarks;

/// <summary>
/// Lambda-mode cold start: the published self-contained ReadyToRun bootstrap, started against a local Runtime API
/// with an invocation waiting; process start → first response, over repeated runs. Also the deployable zip's size.
/// </summary>
public static class ColdStartRun
{
    public static async Task RunAsync(int runs)
    {
        var local = Repository.PathOf("artifacts", $"bench-lambda-{LambdaBootstrap.HostRid}");
        await PublishAsync(LambdaBootstrap.HostRid, local);
        var arm = Repository.PathOf("artifacts", "bench-lambda-linux-arm64");
        await PublishAsync("linux-arm64", arm);
        var zip = Repository.PathOf("artifacts", "lambda-linux-arm64.zip");
        File.Delete(zip);
        ZipFile.CreateFromDirectory(arm, zip, CompressionLevel.SmallestSize, includeBaseDirectory: false);
        Console.WriteLine($"deployable zip (linux-arm64, self-contained, ReadyToRun): {new FileInfo(zip).Length / 1024.0 / 1024.0:0.0} MiB zipped, {DirectorySize(arm) / 1024.0 / 1024.0:0.0} MiB unzipped");

        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(CancellationToken.None);
        var timings = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var invocation = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), CancellationToken.None);
            var start = lambda.StartInfo(local);
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            var result = await invocation;
            timings.Add(stopwatch.Elapsed.TotalMilliseconds);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            if (result.IsError)
            {
                throw new InvalidOperationException($"{System.Text.Encoding.UTF8.GetString(result.Payload)}\n{await stdout}\n{await stderr}");
            }
        }

        timings.Sort();
        Console.WriteLine($"cold start ({LambdaBootstrap.HostRid}, process start -> first response, {runs} runs): median {timings[timings.Count / 2]:0} ms, min {timings[0]:0} ms, max {timings[^1]:0} ms");
    }

    private static async Task PublishAsync(string rid, string output)
    {
        if (File.Exists(Path.Combine(output, "bootstrap")))
        {
            return;
        }

        var (exitCode, log) = await Repository.RunAsync("dotnet", LambdaBootstrap.PublishArguments(rid, output), Repository.Root, CancellationToken.None);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"publish for {rid} failed: {log}");
        }
    }

    private static long DirectorySize(string directory) => new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
