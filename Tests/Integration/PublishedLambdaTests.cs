using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ImageAspire.Tests.Support;

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
            var publish = await Repository.RunAsync("dotnet", LambdaBootstrap.PublishArguments(LambdaBootstrap.HostRid, output), Repository.Root, cancellationToken);
            Assert.True(publish.ExitCode == 0, publish.Output);
            Assert.True(File.Exists(Path.Combine(output, "bootstrap")), "no bootstrap executable");
            Assert.True(File.Exists(Path.Combine(output, "Assets", "fonts", "DejaVuSans-Bold.ttf")), "the watermark font is not shipped");

            await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(cancellationToken);

            // The first invocation is queued before the process starts: start → first response is the cold start.
            var health = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), cancellationToken);
            var start = lambda.StartInfo(output);
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

                var me = await lambda.InvokeAsync("/api/me", new JsonObject
                {
                    ["sub"] = "user-1",
                    ["iss"] = LambdaBootstrap.Issuer,
                    ["client_id"] = LambdaBootstrap.ClientId,
                    ["token_use"] = "access",
                }, TimeSpan.FromSeconds(30), cancellationToken);
                var meResponse = JsonNode.Parse(me.Payload)!;
                Assert.Equal(200, (int)meResponse["statusCode"]!);
                Assert.Equal("user-1", (string?)JsonNode.Parse((string)meResponse["body"]!)!["sub"]);

                var anonymous = JsonNode.Parse((await lambda.InvokeAsync("/api/me", null, TimeSpan.FromSeconds(30), cancellationToken)).Payload)!;
                Assert.Equal(401, (int)anonymous["statusCode"]!);

                // A start that fails (no storage configuration) is reported to /init/error.
                using var brokenProcess = Process.Start(lambda.StartInfo(output, configured: false))!;
                _ = brokenProcess.StandardOutput.ReadToEndAsync(cancellationToken);
                _ = brokenProcess.StandardError.ReadToEndAsync(cancellationToken);
                await brokenProcess.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
                Assert.NotEqual(0, brokenProcess.ExitCode);
                Assert.Contains("Storage", lambda.Function.InitError ?? string.Empty, StringComparison.Ordinal);
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
}
