using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
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
            foreach (var project in new[] { Repository.PathOf("Infra", "Local", "Templates", "Templates.csproj"), Repository.PathOf("Infra", "Local", "Hosting", "LocalAws.csproj") })
            {
                var (exitCode, output) = await Repository.RunAsync("dotnet", ["pack", project, "--no-build", "-c", Configuration, "-o", feed.FullName, "-nologo"], Repository.Root, Timeout(300));
                Assert.True(exitCode == 0, output);
            }

            using var package = ZipFile.OpenRead(Path.Combine(feed.FullName, "ImageAspire.Hosting.LocalAws.0.1.0.nupkg"));
            var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("lib/net10.0/ImageAspire.Hosting.LocalAws.dll", entries);
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
