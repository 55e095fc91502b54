using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// The published Native AOT artifact (the Lambda bootstrap, built for this machine's architecture) starts in Lambda
/// mode against the local Runtime API and serves requests, an image upload included, against the local emulators.
/// </summary>
[Collection(PublishedBootstrapGroup.Name)]
public sealed class PublishedLambdaTests(AppHostFixture fixture, PublishedBootstrap published) : IClassFixture<PublishedBootstrap>
{
    [Fact]
    public async Task The_published_artifact_is_native_code_with_libvips_and_the_font_beside_it()
    {
        var output = published.Directory;
        Assert.True(File.Exists(Path.Combine(output, "bootstrap")), "no bootstrap executable");
        Assert.True(File.Exists(Path.Combine(output, "Assets", "fonts", "DejaVuSans-Bold.ttf")), "the watermark font is not shipped");
        Assert.True(File.Exists(Path.Combine(output, "libvips.so.42")), "libvips is not beside the bootstrap");
        Assert.Empty(Directory.GetFiles(output, "*.dll", SearchOption.AllDirectories));
        Assert.Equal(ElfMachine(LambdaBootstrap.HostRid), await ElfMachineOfAsync(Path.Combine(output, "bootstrap")));
    }

    [Fact]
    public async Task The_published_artifact_serves_invocations_from_the_runtime_api()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(cancellationToken);

        // The first invocation is queued before the process starts: start → first response is the cold start.
        var health = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        await using var process = Start(lambda.StartInfo(published.Directory));
        var healthResult = await health;
        var coldStart = stopwatch.Elapsed;
        Assert.False(healthResult.IsError, Encoding.UTF8.GetString(healthResult.Payload));
        var response = JsonNode.Parse(healthResult.Payload)!;
        Assert.Equal(200, (int)response["statusCode"]!);
        Assert.Equal("Healthy", (string?)response["body"]);
        TestContext.Current.TestOutputHelper?.WriteLine($"cold start (process start -> first response): {coldStart.TotalMilliseconds:0} ms");

        var me = await lambda.InvokeAsync("/api/me", LambdaBootstrap.Claims("user-1"), TimeSpan.FromSeconds(30), cancellationToken);
        var meResponse = JsonNode.Parse(me.Payload)!;
        Assert.Equal(200, (int)meResponse["statusCode"]!);
        Assert.Equal("user-1", (string?)JsonNode.Parse((string)meResponse["body"]!)!["sub"]);

        var anonymous = JsonNode.Parse((await lambda.InvokeAsync("/api/me", null, TimeSpan.FromSeconds(30), cancellationToken)).Payload)!;
        Assert.Equal(401, (int)anonymous["statusCode"]!);

        // A start that fails (no storage configuration) is reported to /init/error.
        await using var broken = Start(lambda.StartInfo(published.Directory, configured: false));
        await broken.Process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        Assert.NotEqual(0, broken.Process.ExitCode);
        Assert.Contains("Storage", lambda.Function.InitError ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_published_artifact_processes_an_upload_into_the_local_buckets_and_table()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(cancellationToken);
        var start = lambda.StartInfo(published.Directory, fixture.App.GetEndpoint("s3", "http"), fixture.App.GetEndpoint("dynamodb", "http"), fixture.Environment);
        // The AppHost's path key, so the stored renditions are under the media keys the checks below expect.
        start.Environment["Media__PathKey"] = fixture.MediaEnvironment["Media__PathKey"];
        await using var process = Start(start);
        var sub = $"aot-{Guid.NewGuid():N}";

        // The template's default function timeout.
        var result = await lambda.UploadAsync(LambdaBootstrap.Claims(sub), TestImages.Jpeg(1200, 800), TimeSpan.FromSeconds(30), cancellationToken);

        Assert.False(result.IsError, Encoding.UTF8.GetString(result.Payload));
        var response = JsonNode.Parse(result.Payload)!;
        Assert.True((int)response["statusCode"]! == 201, (string?)response["body"]);
        var image = JsonNode.Parse((string)response["body"]!)!;
        Assert.Equal("Ready", (string?)image["status"]);
        Assert.Equal(6, image["renditions"]!.AsArray().Count);
        await StoredImages.AssertReadyItemsAreWholeAsync(fixture, sub, cancellationToken);
        Assert.Single(await StoredImages.LiveItemsAsync(fixture, sub, cancellationToken));

        // The Native AOT build exports its spans as the template configures it: signed for X-Ray, after the answer.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (lambda.TraceExports.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken);
        }

        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=S3RVER/", Assert.Single(lambda.TraceExports.Take(1)), StringComparison.Ordinal);
        Assert.Contains("/us-east-1/xray/aws4_request", lambda.TraceExports.First(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_published_artifact_does_its_init_work_before_the_first_invocation_and_none_of_it_is_traced()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(cancellationToken);
        var health = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), cancellationToken);
        var start = lambda.StartInfo(published.Directory, fixture.App.GetEndpoint("s3", "http"), fixture.App.GetEndpoint("dynamodb", "http"), fixture.Environment);
        start.Environment["Media__PathKey"] = fixture.MediaEnvironment["Media__PathKey"];
        var process = Start(start);
        string output;
        await using (process)
        {
            Assert.Equal(200, (int)JsonNode.Parse((await health).Payload)!["statusCode"]!);
            // Telemetry is flushed after each answer, and /health makes no span: nothing is exported, the init work's
            // storage calls included (they run under a suppression scope, and mostly before the tracer exists).
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            Assert.Empty(lambda.TraceExports);

            // What the check above would see if something were traced: an upload's spans, exported after its answer.
            var upload = await lambda.UploadAsync(LambdaBootstrap.Claims($"init-{Guid.NewGuid():N}"), TestImages.Jpeg(640, 480), TimeSpan.FromSeconds(30), cancellationToken);
            Assert.Equal(201, (int)JsonNode.Parse(upload.Payload)!["statusCode"]!);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (lambda.TraceExports.IsEmpty && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
            }

            Assert.NotEmpty(lambda.TraceExports);
            output = await process.StopAsync();
        }

        var lines = output.Split('\n');
        var initDone = Array.FindIndex(lines, l => l.Contains("Init work done", StringComparison.Ordinal));
        var serving = Array.FindIndex(lines, l => l.Contains("Serving Lambda invocations from the Runtime API", StringComparison.Ordinal));
        Assert.True(initDone >= 0 && serving > initDone, output);
        // Nothing in it failed (a failure is a warning naming what failed during init).
        Assert.DoesNotContain(lines, l => l.Contains("during init failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_storage_that_never_answers_delays_the_first_invocation_by_at_most_the_init_work_limit()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(cancellationToken);
        // Accepts connections and never answers them: a call that may or may not have arrived.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start(backlog: 64);
        var endpoint = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}");
        var health = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        await using var process = Start(lambda.StartInfo(published.Directory, endpoint, endpoint, fixture.Environment));

        var result = await health;

        Assert.Equal(200, (int)JsonNode.Parse(result.Payload)!["statusCode"]!);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        // Storage calls still fail as they always do, promptly and with a problem, and nothing was cached from the init.
        var upload = await lambda.UploadAsync(LambdaBootstrap.Claims($"silent-{Guid.NewGuid():N}"), TestImages.Jpeg(320, 240), TimeSpan.FromSeconds(60), cancellationToken);
        var response = JsonNode.Parse(upload.Payload)!;
        Assert.Equal(503, (int)response["statusCode"]!);
        // Each wait that ran out is named.
        var output = await process.StopAsync();
        Assert.Contains("Reading the settings during init failed", output, StringComparison.Ordinal);
        Assert.Contains("Opening a connection to S3 during init failed", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The linux-arm64 bootstrap, cross-compiled here exactly as deploy.sh publishes it, runs on an emulated arm64 machine
    /// (its files in <c>/var/task</c>, the function's environment, no network device): it polls the Runtime API, answers
    /// an HTTP API <c>GET /health</c>, and turns a real photo into its renditions with the arm64 libvips, stored in the
    /// local buckets and table, where they are decoded and checked here.
    /// </summary>
    [Fact]
    public async Task The_arm64_bootstrap_that_deploys_runs_on_an_arm64_machine_and_processes_a_photo()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var output = Path.Combine(Path.GetTempPath(), $"imageaspire-publish-arm64-{Guid.NewGuid():N}");
        string? tunnel = null;
        try
        {
            var publish = await Repository.RunAsync("dotnet", LambdaBootstrap.PublishArguments("linux-arm64", output), Repository.Root, cancellationToken);
            Assert.True(publish.ExitCode == 0, publish.Output);
            Assert.Equal(ElfMachine("linux-arm64"), await ElfMachineOfAsync(Path.Combine(output, "bootstrap")));
            Assert.Equal(ElfMachine("linux-arm64"), await ElfMachineOfAsync(Path.Combine(output, "libvips.so.42")));
            Assert.Empty(Directory.GetFiles(output, "*.dll", SearchOption.AllDirectories));
            tunnel = await Arm64Machine.PrepareAsync(cancellationToken);

            await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(cancellationToken);
            var s3 = fixture.App.GetEndpoint("s3", "http");
            var dynamoDb = fixture.App.GetEndpoint("dynamodb", "http");
            var environment = lambda.FunctionEnvironment(s3, dynamoDb, fixture.Environment);
            environment["Media__PathKey"] = fixture.MediaEnvironment["Media__PathKey"];

            // Queued before the machine boots, as Lambda queues the invocation that causes a cold start.
            var health = lambda.InvokeAsync("/health", null, TimeSpan.FromMinutes(2), cancellationToken);
            var stopwatch = Stopwatch.StartNew();
            await using var machine = await Arm64Machine.BootAsync(
                tunnel, output, environment, [lambda.RuntimeApiPort, s3.Port, dynamoDb.Port], cancellationToken);
            try
            {
                var healthResult = await health;
                var coldStart = stopwatch.Elapsed;
                Assert.False(healthResult.IsError, Encoding.UTF8.GetString(healthResult.Payload));
                var healthResponse = JsonNode.Parse(healthResult.Payload)!;
                Assert.Equal(200, (int)healthResponse["statusCode"]!);
                Assert.Equal("Healthy", (string?)healthResponse["body"]);

                // A real photo, stored sideways with the EXIF orientation that turns it upright, and a private field.
                var sub = $"arm64-{Guid.NewGuid():N}";
                stopwatch.Restart();
                var result = await lambda.UploadAsync(LambdaBootstrap.Claims(sub), SidewaysPhoto(), TimeSpan.FromMinutes(2), cancellationToken);
                var uploadTime = stopwatch.Elapsed;
                Assert.False(result.IsError, Encoding.UTF8.GetString(result.Payload));
                var response = JsonNode.Parse(result.Payload)!;
                Assert.True((int)response["statusCode"]! == 201, (string?)response["body"]);
                Assert.Equal("Ready", (string?)JsonNode.Parse((string)response["body"]!)!["status"]);
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"emulated arm64: boot + cold start to /health {coldStart.TotalSeconds:0.0} s, first upload {uploadTime.TotalSeconds:0.0} s");

                var item = Assert.Single(await StoredImages.LiveItemsAsync(fixture, sub, cancellationToken));
                Assert.Equal((400, 600), (item.Width, item.Height));
                Assert.Equal(6, item.Renditions.Count);
                foreach (var rendition in item.Renditions)
                {
                    using var decoded = NetVips.Image.NewFromBuffer(await fixture.ReadRenditionAsync(rendition.Key, cancellationToken));
                    Assert.Equal((rendition.Width, rendition.Height), (decoded.Width, decoded.Height));
                    // The fitted ones upright (the 600x400 photo turned by its orientation tag); the private field gone.
                    Assert.True(decoded.Width == decoded.Height || decoded.Height > decoded.Width, $"{rendition.Name} is {decoded.Width}x{decoded.Height}: not turned upright");
                    Assert.DoesNotContain("exif-ifd0-Artist", decoded.GetFields());
                }

                // The watermark's text is drawn with the shipped font (the guest, like Lambda's image, has no fonts of
                // its own): a black image comes back with white glyphs in the corner of its large rendition.
                using (var black = NetVips.Image.Black(1600, 1200, bands: 3).Cast(NetVips.Enums.BandFormat.Uchar).Copy(interpretation: NetVips.Enums.Interpretation.Srgb))
                {
                    stopwatch.Restart();
                    var second = await lambda.UploadAsync(LambdaBootstrap.Claims(sub), black.JpegsaveBuffer(), TimeSpan.FromMinutes(2), cancellationToken);
                    TestContext.Current.TestOutputHelper?.WriteLine($"emulated arm64: second upload {stopwatch.Elapsed.TotalSeconds:0.0} s");
                    Assert.Equal(201, (int)JsonNode.Parse(second.Payload)!["statusCode"]!);
                }

                var blackItem = Assert.Single(await StoredImages.LiveItemsAsync(fixture, sub, cancellationToken), i => i.Width == 1600);
                using var large = NetVips.Image.NewFromBuffer(await fixture.ReadRenditionAsync(blackItem.Renditions.First(r => r.Name == "large").Key, cancellationToken));
                using var corner = large.Crop(large.Width * 3 / 4, large.Height * 7 / 8, large.Width / 4, large.Height / 8);
                using var opposite = large.Crop(0, 0, large.Width / 4, large.Height / 8);
                Assert.True(corner.Max() > 80 && opposite.Max() < 20, $"no watermark drawn (corner max {corner.Max()}, opposite max {opposite.Max()})");
                // Lambda's image has no fontconfig configuration either: the shipped one is used, so fontconfig says nothing.
                Assert.DoesNotContain("Fontconfig error", machine.Console, StringComparison.Ordinal);

                // What it stored went from the guest's loopback through the tunnel to the emulators.
                Assert.True(machine.ConnectionsByPort.ContainsKey(s3.Port), "the guest never reached S3");
                Assert.True(machine.ConnectionsByPort.ContainsKey(dynamoDb.Port), "the guest never reached DynamoDB");
            }
            finally
            {
                TestContext.Current.TestOutputHelper?.WriteLine(machine.Console);
            }
        }
        finally
        {
            foreach (var directory in new[] { output, tunnel })
            {
                if (directory is not null && Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }
    }

    private static byte[] SidewaysPhoto()
    {
        using var photo = NetVips.Image.NewFromFile(Repository.PathOf("Tests", "Fixtures", "images", "coffee.png"));
        using var tagged = photo.Mutate(m =>
        {
            m.Set(NetVips.GValue.GIntType, "orientation", 6);
            m.Set(NetVips.GValue.GStrType, "exif-ifd0-Artist", "Private Person");
        });
        return tagged.JpegsaveBuffer(q: 90, keep: NetVips.Enums.ForeignKeep.All);
    }

    /// <summary>The ELF <c>e_machine</c> of the architecture: 62 (x86-64) or 183 (AArch64).</summary>
    private static int ElfMachine(string rid) => rid == "linux-arm64" ? 183 : 62;

    private static async Task<int> ElfMachineOfAsync(string path)
    {
        var header = new byte[20];
        await using var file = File.OpenRead(path);
        await file.ReadExactlyAsync(header);
        Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
        return BitConverter.ToUInt16(header, 18);
    }

    /// <summary>A started bootstrap; what it wrote goes to the test's output when it is disposed.</summary>
    private static BootstrapProcess Start(ProcessStartInfo start) =>
        BootstrapProcess.Start(start, output => TestContext.Current.TestOutputHelper?.WriteLine(output));
}
