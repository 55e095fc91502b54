using System.IO.Compression;
using System.Xml.Linq;
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

    private static byte[] Read(ZipArchive package, string entry)
    {
        using var stream = package.GetEntry(entry)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
