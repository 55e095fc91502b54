using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using ImageAspire.Infra.Lambda;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ImageAspire.Benchmarks;

/// <summary>
/// Lambda-mode cold start: the published self-contained ReadyToRun bootstrap, started against a local Runtime API
/// with an invocation waiting; process start → first response, over repeated runs. Also the deployable zip's size.
/// </summary>
public static class ColdStartRun
{
    public static async Task RunAsync(int runs)
    {
        var root = Root();
        var rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";
        var local = Path.Combine(root, "artifacts", $"bench-lambda-{rid}");
        await PublishAsync(root, rid, local);
        var arm = Path.Combine(root, "artifacts", "bench-lambda-linux-arm64");
        await PublishAsync(root, "linux-arm64", arm);
        var zip = Path.Combine(root, "artifacts", "lambda-linux-arm64.zip");
        File.Delete(zip);
        ZipFile.CreateFromDirectory(arm, zip, CompressionLevel.SmallestSize, includeBaseDirectory: false);
        Console.WriteLine($"deployable zip (linux-arm64, self-contained, ReadyToRun): {new FileInfo(zip).Length / 1024.0 / 1024.0:0.0} MiB zipped, {DirectorySize(arm) / 1024.0 / 1024.0:0.0} MiB unzipped");

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var function = new LocalLambdaFunction();
        await using var api = builder.Build();
        function.MapRuntimeApi(api);
        await api.StartAsync();
        var address = new Uri(api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());


        var timings = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var invocation = function.InvokeAsync(Encoding.UTF8.GetBytes(HealthEvent), TimeSpan.FromSeconds(60), CancellationToken.None);
            var start = new ProcessStartInfo(Path.Combine(local, "bootstrap")) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["AWS_LAMBDA_RUNTIME_API"] = $"{address.Host}:{address.Port}";
            start.Environment["AWS_REGION"] = "us-east-1";
            start.Environment["Storage__OriginalsBucket"] = "originals";
            start.Environment["Storage__RenditionsBucket"] = "renditions";
            start.Environment["Storage__Table"] = "images";
            start.Environment["Auth__Issuer"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench";
            start.Environment["Auth__ClientId"] = "bench";
            start.Environment["MALLOC_ARENA_MAX"] = "2";
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            var result = await invocation;
            timings.Add(stopwatch.Elapsed.TotalMilliseconds);
            if (result.IsError)
            {
                throw new InvalidOperationException(Encoding.UTF8.GetString(result.Payload));
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        timings.Sort();
        Console.WriteLine($"cold start ({rid}, process start -> first response, {runs} runs): median {timings[timings.Count / 2]:0} ms, min {timings[0]:0} ms, max {timings[^1]:0} ms");
    }

    private const string HealthEvent = """
        {"version":"2.0","routeKey":"$default","rawPath":"/health","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/health","sourceIp":"127.0.0.1"},"requestId":"cold","stage":"$default"},"isBase64Encoded":false}
        """;

    private static async Task PublishAsync(string root, string rid, string output)
    {
        if (File.Exists(Path.Combine(output, "bootstrap")))
        {
            return;
        }

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root };
        foreach (var argument in new[] { "publish", Path.Combine("ImageService", "ImageService.csproj"), "-c", "Release", "-r", rid, "--self-contained", "-p:PublishReadyToRun=true", "-p:LambdaBootstrap=true", "-o", output, "-v", "quiet" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"publish for {rid} failed");
        }
    }

    private static long DirectorySize(string directory) => new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    public static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ImageAspire.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("ImageAspire.sln not found");
    }
}
