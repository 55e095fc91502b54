using System.Reflection;
using Aspire.Hosting;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>
/// Where the library's own parts are: the emulators' launchers and the local Lambda and edge services.
/// <list type="bullet">
/// <item>From the package: in the package's folder, which the package's build file records in the assembly of the AppHost
/// that references it (<see cref="PackageRootKey"/>; the <c>LocalAws:PackageRoot</c> setting overrides it). The services
/// run with <c>dotnet</c> from <c>localaws/lambda</c> and <c>localaws/edge</c>; the launchers run from a copy in the
/// user's local data folder, one per package version, where npm installs their modules (the package folder is NuGet's
/// and stays as it was extracted).</item>
/// <item>From a project reference (this repository): in the source tree, recorded in the library's assembly at build
/// time; the services run as projects.</item>
/// </list>
/// </summary>
internal sealed record LocalAwsAssets(string? PackageRoot)
{
    public const string PackageRootKey = "ImageAspire.Hosting.LocalAws.PackageRoot";

    public static LocalAwsAssets Of(IDistributedApplicationBuilder builder)
    {
        var root = builder.Configuration["LocalAws:PackageRoot"] is { Length: > 0 } configured
            ? configured
            : builder.AppHostAssembly?.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == PackageRootKey)?.Value;
        return new(string.IsNullOrWhiteSpace(root) ? null : Path.GetFullPath(root));
    }

    public bool FromPackage => PackageRoot is not null;

    /// <summary>The folder the emulators run in (and npm installs into).</summary>
    public string EmulatorsDirectory => PackageRoot is null
        ? LocalAwsExtensions.BuildMetadata("LocalAws.Emulators")
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
            "ImageAspire.Hosting.LocalAws", typeof(LocalAwsAssets).Assembly.GetName().Version?.ToString() ?? "0", "emulators");

    /// <summary>The assembly of a local service in the package (<c>localaws/lambda/ImageAspire.LocalLambda.dll</c>).</summary>
    public string ServiceAssembly(string service, string assemblyName) =>
        Path.Combine(PackageRoot ?? throw new InvalidOperationException("Not running from the package."), "localaws", service, assemblyName + ".dll");

    /// <summary>
    /// From the package: copies the launchers and their lock file into <see cref="EmulatorsDirectory"/>, replacing what
    /// differs (npm then installs once per lock file). Called just before the npm step starts, not while the model is built.
    /// </summary>
    public void CopyLaunchers()
    {
        if (PackageRoot is null)
        {
            return;
        }

        var source = Path.Combine(PackageRoot, "localaws", "emulators");
        Directory.CreateDirectory(EmulatorsDirectory);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            var target = Path.Combine(EmulatorsDirectory, Path.GetFileName(file));
            if (!File.Exists(target) || !File.ReadAllBytes(target).AsSpan().SequenceEqual(File.ReadAllBytes(file)))
            {
                File.Copy(file, target, overwrite: true);
            }
        }
    }
}

internal static class PackagedServiceExtensions
{
    /// <summary>A local service from the package, run with <c>dotnet</c>, listening on the loopback on its <c>http</c> endpoint.</summary>
    public static IResourceBuilder<ExecutableResource> AddPackagedService(
        this IDistributedApplicationBuilder builder, string name, LocalAwsAssets assets, string service, string assemblyName, int? port = null)
    {
        var assembly = assets.ServiceAssembly(service, assemblyName);
        var executable = builder.AddExecutable(name, "dotnet", Path.GetDirectoryName(assembly)!, assembly)
            .WithHttpEndpoint(port: port, name: "http")
            .WithOtlpExporter();
        var endpoint = executable.GetEndpoint("http");
        return executable.WithEnvironment("ASPNETCORE_URLS", ReferenceExpression.Create($"http://localhost:{endpoint.Property(EndpointProperty.TargetPort)}"));
    }
}
