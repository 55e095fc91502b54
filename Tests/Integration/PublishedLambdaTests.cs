using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ImageAspire.Infra.Lambda;
using ImageAspire.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// The published, self-contained ReadyToRun artifact (the Lambda bootstrap, built for this machine's
/// architecture) starts in Lambda mode against the local Runtime API and serves requests.
/// </summary>
public sealed class PublishedLambdaTests
{
    [Fact]
    public async Task The_published_artifact_serves_invocations_from_the_runtime_api()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var output = Path.Combine(Path.GetTempPath(), $"imageaspire-publish-{Guid.NewGuid():N}");
        try
        {
            var rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";
            var publish = await Repository.RunAsync("dotnet",
                ["publish", Repository.PathOf("ImageService", "ImageService.csproj"), "-c", "Release", "-r", rid, "--self-contained",
                 "-p:PublishReadyToRun=true", "-p:LambdaBootstrap=true", "-o", output],
                Repository.Root, cancellationToken);
            Assert.True(publish.ExitCode == 0, publish.Output);
            Assert.True(File.Exists(Path.Combine(output, "bootstrap")), "no bootstrap executable");
            Assert.True(File.Exists(Path.Combine(output, "Assets", "fonts", "DejaVuSans-Bold.ttf")), "the watermark font is not shipped");

            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var function = new LocalLambdaFunction();
            await using var runtimeApi = builder.Build();
            function.MapRuntimeApi(runtimeApi);
            await runtimeApi.StartAsync(cancellationToken);
            var address = new Uri(runtimeApi.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

            // The first invocation is queued before the process starts: start → first response is the cold start.
            var health = function.InvokeAsync(Encoding.UTF8.GetBytes(Event("/health", null).ToJsonString()), TimeSpan.FromSeconds(60), cancellationToken);
            var start = new ProcessStartInfo(Path.Combine(output, "bootstrap")) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["AWS_LAMBDA_RUNTIME_API"] = $"{address.Host}:{address.Port}";
            start.Environment["AWS_REGION"] = "us-east-1";
            start.Environment["AWS_ACCESS_KEY_ID"] = "test";
            start.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
            start.Environment["Storage__OriginalsBucket"] = "originals";
            start.Environment["Storage__RenditionsBucket"] = "renditions";
            start.Environment["Storage__Table"] = "images";
            start.Environment["Auth__Issuer"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test";
            start.Environment["Auth__ClientId"] = "client";
            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                var healthResult = await health;
                var coldStart = stopwatch.Elapsed;
                Assert.False(healthResult.IsError, Encoding.UTF8.GetString(healthResult.Payload));
                var response = JsonNode.Parse(healthResult.Payload)!;
                Assert.Equal(200, (int)response["statusCode"]!);
                Assert.Equal("Healthy", (string?)response["body"]);
                TestContext.Current.TestOutputHelper?.WriteLine($"cold start (process start -> first response): {coldStart.TotalMilliseconds:0} ms");

                var me = await function.InvokeAsync(Encoding.UTF8.GetBytes(Event("/api/me", new JsonObject
                {
                    ["sub"] = "user-1",
                    ["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
                    ["client_id"] = "client",
                    ["token_use"] = "access",
                }).ToJsonString()), TimeSpan.FromSeconds(30), cancellationToken);
                var meResponse = JsonNode.Parse(me.Payload)!;
                Assert.Equal(200, (int)meResponse["statusCode"]!);
                Assert.Equal("user-1", (string?)JsonNode.Parse((string)meResponse["body"]!)!["sub"]);

                var anonymous = JsonNode.Parse((await function.InvokeAsync(Encoding.UTF8.GetBytes(Event("/api/me", null).ToJsonString()), TimeSpan.FromSeconds(30), cancellationToken)).Payload)!;
                Assert.Equal(401, (int)anonymous["statusCode"]!);

                // A start that fails (no storage configuration) is reported to /init/error.
                var broken = new ProcessStartInfo(Path.Combine(output, "bootstrap")) { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var (name, value) in start.Environment.Where(e => e.Key.StartsWith("AWS_", StringComparison.Ordinal) || e.Key.StartsWith("Auth__", StringComparison.Ordinal)))
                {
                    broken.Environment[name] = value;
                }

                using var brokenProcess = Process.Start(broken)!;
                _ = brokenProcess.StandardOutput.ReadToEndAsync(cancellationToken);
                _ = brokenProcess.StandardError.ReadToEndAsync(cancellationToken);
                await brokenProcess.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
                Assert.NotEqual(0, brokenProcess.ExitCode);
                Assert.Contains("Storage", function.InitError ?? string.Empty, StringComparison.Ordinal);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                TestContext.Current.TestOutputHelper?.WriteLine(await stdout + await stderr);
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static JsonObject Event(string path, JsonObject? claims) => new()
    {
        ["version"] = "2.0",
        ["routeKey"] = "ANY /api/{proxy+}",
        ["rawPath"] = path,
        ["rawQueryString"] = string.Empty,
        ["headers"] = new JsonObject { ["accept"] = "application/json" },
        ["requestContext"] = new JsonObject
        {
            ["http"] = new JsonObject { ["method"] = "GET", ["path"] = path, ["sourceIp"] = "127.0.0.1" },
            ["requestId"] = Guid.NewGuid().ToString(),
            ["stage"] = "$default",
            ["authorizer"] = claims is null ? null : new JsonObject { ["jwt"] = new JsonObject { ["claims"] = claims } },
        },
        ["isBase64Encoded"] = false,
    };
}
