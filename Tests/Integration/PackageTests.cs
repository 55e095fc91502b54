using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// <c>dotnet pack</c> makes the local-AWS hosting library a package: the library, the emulators' launchers with their
/// pinned lock file, the local Lambda and edge services prebuilt, its README, the build file that tells the library where
/// the package is, and its metadata. Packed from what the test run built (<c>--no-build</c>), into a folder of its own.
/// </summary>
public sealed class PackageTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static readonly string Emulators = Repository.PathOf("Infra", "Local", "emulators");

    [Fact]
    public async Task Packing_the_library_gives_a_package_with_its_launchers_local_services_readme_and_metadata()
    {
        var feed = Directory.CreateTempSubdirectory("localaws-feed-");
        try
        {
            await PackAsync(feed.FullName);

            using var package = ZipFile.OpenRead(Path.Combine(feed.FullName, "ImageAspire.Hosting.LocalAws.0.1.0.nupkg"));
            var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("lib/net10.0/ImageAspire.Hosting.LocalAws.dll", entries);
            // IntelliSense for the extension methods and the resource types.
            Assert.Contains("lib/net10.0/ImageAspire.Hosting.LocalAws.xml", entries);
            Assert.Contains("README.md", entries);
            Assert.Contains("buildTransitive/ImageAspire.Hosting.LocalAws.targets", entries);

            // Every launcher, and the lock file exactly as the repository pins it; no installed modules.
            Assert.All(Directory.GetFiles(Emulators, "*.js"), launcher => Assert.Contains($"localaws/emulators/{Path.GetFileName(launcher)}", entries));
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Emulators, "package-lock.json"), Timeout()), Read(package, "localaws/emulators/package-lock.json"));
            Assert.DoesNotContain(entries, e => e.Contains("node_modules", StringComparison.Ordinal));

            // The two local services, framework-dependent, runnable with `dotnet`.
            foreach (var service in new[] { "lambda/ImageAspire.LocalLambda", "edge/ImageAspire.LocalEdge" })
            {
                Assert.Contains($"localaws/{service}.dll", entries);
                Assert.Contains($"localaws/{service}.runtimeconfig.json", entries);
                Assert.Contains($"localaws/{service}.deps.json", entries);
            }

            Assert.Contains("localaws/edge/ImageAspire.LocalAws.Templates.dll", entries);
            Assert.DoesNotContain(entries, e => e.EndsWith(".pdb", StringComparison.Ordinal));

            var nuspec = XDocument.Load(package.GetEntry("ImageAspire.Hosting.LocalAws.nuspec")!.Open());
            string? Metadata(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal(("ImageAspire.Hosting.LocalAws", "0.1.0", "MIT", "README.md"), (Metadata("id"), Metadata("version"), Metadata("license"), Metadata("readme")));
            Assert.Contains("aspire", Metadata("tags")!.Split(' '));
            // The commit it was packed from (and the address, where the clone has an origin remote).
            var repository = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
            var (_, head) = await Repository.RunAsync("git", ["rev-parse", "HEAD"], Repository.Root, Timeout());
            Assert.Equal(("git", head.Trim()), ((string?)repository.Attribute("type"), (string?)repository.Attribute("commit")));
            var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string?)e.Attribute("id")).ToList();
            Assert.Contains("ImageAspire.LocalAws.Templates", dependencies);
            Assert.Contains("Aspire.Hosting", dependencies);
            // The services are run, not referenced: nothing of theirs is a dependency.
            Assert.DoesNotContain("ImageAspire.LocalLambda", dependencies);
            Assert.True(File.Exists(Path.Combine(feed.FullName, "ImageAspire.LocalAws.Templates.0.1.0.nupkg")));

            // The build file records the package's own folder in the AppHost that references it.
            var targets = XDocument.Load(package.GetEntry("buildTransitive/ImageAspire.Hosting.LocalAws.targets")!.Open());
            var metadata = Assert.Single(targets.Descendants(), e => e.Name.LocalName == "AssemblyMetadata");
            Assert.Equal("ImageAspire.Hosting.LocalAws.PackageRoot", (string?)metadata.Attribute("Include"));
        }
        finally
        {
            feed.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_AppHost_using_the_package_runs_its_emulators_and_local_services_from_the_package()
    {
        var work = Directory.CreateTempSubdirectory("localaws-package-");
        try
        {
            var (exitCode, output) = await Repository.RunAsync("dotnet",
                ["pack", Repository.PathOf("Infra", "Local", "Hosting", "LocalAws.csproj"), "--no-build", "-c", Configuration, "-o", work.FullName, "-nologo"], Repository.Root, Timeout(300));
            Assert.True(exitCode == 0, output);
            // Where NuGet would extract it.
            var root = Path.Combine(work.FullName, "packages", "imageaspire.hosting.localaws", "0.1.0");
            await ZipFile.ExtractToDirectoryAsync(Path.Combine(work.FullName, "ImageAspire.Hosting.LocalAws.0.1.0.nupkg"), root, Timeout());

            // The package's build file, imported into the AppHost, names this folder; LocalAws:PackageRoot stands for it.
            var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
            {
                Args = ["--environment", "Development", $"LocalAws:PackageRoot={root}", $"LocalAws:DataDirectory={Path.Combine(work.FullName, "data")}"],
                DisableDashboard = true,
            });
            var aws = builder.AddLocalAws(Repository.PathOf("Infra", "Deploy", "template.yaml"), ["http://localhost:8080"]);
            var function = builder.AddExecutable("function", "dotnet", work.FullName);
            var lambda = builder.AddLocalLambda("lambda", aws, function, "ImageFunction", aws.Issuer("UserPoolId"), aws.Output("UserPoolClientId"));
            builder.AddLocalEdge(aws, lambda, Repository.PathOf("Web", "Web.csproj"), Path.Combine(work.FullName, "web"), "RenditionsBucket", aws.Output("UserPoolId"), aws.Output("UserPoolClientId"));
            var model = builder.Resources;

            foreach (var (name, service, assembly) in new[] { ("lambda", "lambda", "ImageAspire.LocalLambda"), ("edge", "edge", "ImageAspire.LocalEdge") })
            {
                var executable = Assert.IsType<ExecutableResource>(model.Single(r => r.Name == name));
                var path = Path.Combine(root, "localaws", service, assembly + ".dll");
                Assert.Equal(("dotnet", Path.GetDirectoryName(path)), (executable.Command, executable.WorkingDirectory));
#pragma warning disable CS0618 // the replacement builder API does the same with more ceremony
                Assert.Equal([path], await executable.GetArgumentValuesAsync(DistributedApplicationOperation.Publish));
#pragma warning restore CS0618
                Assert.True(File.Exists(path), path);
            }

            // The emulators run from a writable copy (npm installs there), not from the package folder.
            var s3 = Assert.IsType<ExecutableResource>(model.Single(r => r.Name == "s3"));
            Assert.False(s3.WorkingDirectory.StartsWith(root, StringComparison.Ordinal), s3.WorkingDirectory);
            Assert.Equal(s3.WorkingDirectory, Assert.IsType<ExecutableResource>(model.Single(r => r.Name == "npm-ci")).WorkingDirectory);

            // The packaged local Lambda service starts with dotnet and answers its health check.
            await AssertServiceRunsAsync(Path.Combine(root, "localaws", "lambda", "ImageAspire.LocalLambda.dll"));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// What a user does: a fresh AppHost outside this solution references the package from a feed (no project reference),
    /// with a template of its own and a function of its own; <c>dotnet run</c> gives the emulators, provisioning, the
    /// Runtime API, the HTTP API with its JWT authorizer and S3 event delivery. Packed under a version of its own, so the
    /// machine's NuGet cache can never hand it an earlier build; that version is removed from the cache afterwards.
    /// </summary>
    [Fact]
    public async Task A_fresh_AppHost_using_the_package_from_a_feed_runs_its_own_template_end_to_end()
    {
        var work = Directory.CreateTempSubdirectory("localaws-consumer-");
        var version = $"0.1.0-consumer.{DateTime.UtcNow:yyyyMMddHHmmss}";
        Process? appHost = null;
        var log = new System.Text.StringBuilder();
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            await PackAsync(feed, $"-p:Version={version}");

            var consumer = Path.Combine(work.FullName, "consumer");
            CopyDirectory(Repository.PathOf("Tests", "Fixtures", "localaws-consumer"), consumer);
            // The feed beside the machine's own sources (no <clear/>): everything else restores as it always does.
            await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"),
                $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><add key="local" value="{feed}" /></packageSources></configuration>""", Timeout());
            var appHostProject = Path.Combine(consumer, "AppHost", "Consumer.AppHost.csproj");
            var (built, buildOutput) = await Repository.RunAsync("dotnet", ["build", appHostProject, $"-p:LocalAwsVersion={version}", "-nologo"], consumer, Timeout(600));
            Assert.True(built == 0, buildOutput);

            var ready = Path.Combine(work.FullName, "ready.json");
            var start = new ProcessStartInfo("dotnet", ["run", "--no-build", "--project", appHostProject])
            {
                WorkingDirectory = consumer,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["DOTNET_ENVIRONMENT"] = "Development",
                    ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
                    ["CONSUMER_READY_FILE"] = ready,
                    // The launchers' writable copy (and its npm install) in this test's folder, not the user's.
                    ["XDG_DATA_HOME"] = Path.Combine(work.FullName, "xdg"),
                },
            };
            appHost = Process.Start(start)!;
            appHost.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            appHost.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            appHost.BeginOutputReadLine();
            appHost.BeginErrorReadLine();
            var waited = Stopwatch.StartNew();
            while (!File.Exists(ready) && !appHost.HasExited && waited.Elapsed < TimeSpan.FromMinutes(5))
            {
                await Task.Delay(500, Timeout());
            }

            Assert.True(File.Exists(ready), $"The AppHost did not get ready (exited: {appHost.HasExited}):\n{Log()}");
            var endpoints = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(ready, Timeout()))!;
            // Its parts came from the package NuGet extracted, and npm installed the launchers in the user's data folder:
            // not from this repository, whose paths the library also knows.
            Assert.StartsWith(Path.Combine(NuGetCache(), "imageaspire.hosting.localaws", version), endpoints["LambdaDirectory"], StringComparison.Ordinal);
            Assert.True(Directory.Exists(Path.Combine(work.FullName, "xdg", "ImageAspire.Hosting.LocalAws", "0.1.0.0", "emulators", "node_modules")), Log());

            // The HTTP API's JWT authorizer: no token, no call; a signed-in user's token reaches the function with its claims.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var whoami = new Uri(new Uri(endpoints["HttpApi"]), "/notes/whoami");
            using (var anonymous = await http.GetAsync(whoami, Timeout()))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            }

            var tokens = await new CognitoClient(http, new Uri(endpoints["Cognito"])).SignInAsync(endpoints["ClientId"], "reader@example.com", "Consumer-Pass1", Timeout());
            using var request = new HttpRequestMessage(HttpMethod.Get, whoami) { Headers = { Authorization = new("Bearer", tokens.AccessToken) } };
            using var answer = await http.SendAsync(request, Timeout());
            var body = await answer.Content.ReadAsStringAsync(Timeout());
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{answer.StatusCode}: {body}\n{Log()}");
            var claims = System.Text.Json.Nodes.JsonNode.Parse(body)!;
            Assert.Equal("GET /notes/{proxy+}", (string?)claims["route"]);
            Assert.Equal((string?)CognitoUsers.ClaimsOf(tokens.AccessToken)["sub"], (string?)claims["sub"]);

            // An object put with the AWS SDK is an S3 event to the function, which writes the table.
            var credentials = new Amazon.Runtime.BasicAWSCredentials(endpoints["AccessKeyId"], endpoints["AccessKeyId"]);
            using var s3 = new Amazon.S3.AmazonS3Client(credentials, new Amazon.S3.AmazonS3Config { ServiceURL = endpoints["S3"], ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
            using var dynamoDb = new Amazon.DynamoDBv2.AmazonDynamoDBClient(credentials, new Amazon.DynamoDBv2.AmazonDynamoDBConfig { ServiceURL = endpoints["DynamoDb"], AuthenticationRegion = "us-east-1" });
            var key = $"notes/{Guid.NewGuid():N}.txt";
            await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = endpoints["Bucket"], Key = key, ContentBody = "a note" }, Timeout());
            Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue>? item = null;
            waited.Restart();
            while (item is null && waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                var found = await dynamoDb.GetItemAsync(new Amazon.DynamoDBv2.Model.GetItemRequest
                {
                    TableName = endpoints["Table"],
                    Key = new() { ["Key"] = new() { S = key } },
                    ConsistentRead = true,
                }, Timeout());
                item = found.Item is { Count: > 0 } ? found.Item : null;
                if (item is null)
                {
                    await Task.Delay(250, Timeout());
                }
            }

            Assert.True(item is not null, $"The function wrote nothing for {key} within a minute.\n{Log()}");
            Assert.Equal(endpoints["Bucket"], item["Bucket"].S);
            Assert.StartsWith("ObjectCreated:", item["Event"].S, StringComparison.Ordinal);
        }
        finally
        {
            if (appHost is not null)
            {
                await StopAsync(appHost);
                appHost.Dispose();
            }

            work.Delete(recursive: true);
            var cache = NuGetCache();
            foreach (var id in new[] { "imageaspire.hosting.localaws", "imageaspire.localaws.templates" })
            {
                var folder = Path.Combine(cache, id, version);
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        string Log()
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <summary>Packs the template reader and the hosting library, as built by the test run, into <paramref name="feed"/>.</summary>
    private static async Task PackAsync(string feed, params string[] properties)
    {
        foreach (var project in new[] { Repository.PathOf("Infra", "Local", "Templates", "Templates.csproj"), Repository.PathOf("Infra", "Local", "Hosting", "LocalAws.csproj") })
        {
            var (exitCode, output) = await Repository.RunAsync("dotnet", ["pack", project, "--no-build", "-c", Configuration, "-o", feed, "-nologo", .. properties], Repository.Root, Timeout(300));
            Assert.True(exitCode == 0, output);
        }
    }

    // As Ctrl+C would: the AppHost stops its resources (and removes its data folder); killed if it has not within 30 s.
    private static async Task StopAsync(Process appHost)
    {
        if (!appHost.HasExited)
        {
            using var terminate = Process.Start("kill", ["-TERM", appHost.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await terminate.WaitForExitAsync(Timeout());
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await appHost.WaitForExitAsync(grace.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (!appHost.HasExited)
        {
            appHost.Kill(entireProcessTree: true);
            await appHost.WaitForExitAsync(Timeout());
        }
    }

    private static string NuGetCache() => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
        ? packages
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static void CopyDirectory(string source, string target)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }
    }

    private static async Task AssertServiceRunsAsync(string assembly)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [assembly])
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                // Read at start only; nothing is called before an invocation.
                ["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9",
                ["Auth__Issuer"] = "http://127.0.0.1:9/pool",
                ["Auth__ClientId"] = "client",
                ["HttpApi__RouteKey"] = "ANY /api/{proxy+}",
            },
        };
        using var process = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => log.AppendLine(e.Data);
        process.ErrorDataReceived += (_, e) => log.AppendLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var waited = Stopwatch.StartNew();
            HttpStatusCode? status = null;
            while (status != HttpStatusCode.OK && !process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/health"), Timeout());
                    status = response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200, Timeout());
                }
            }

            Assert.True(status == HttpStatusCode.OK, $"{assembly}: {status}; exited {process.HasExited}\n{log}");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Timeout());
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static byte[] Read(ZipArchive package, string entry)
    {
        using var stream = package.GetEntry(entry)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
