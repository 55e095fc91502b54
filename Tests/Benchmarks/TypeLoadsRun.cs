using System.Globalization;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;

namespace ImageAspire.Benchmarks;

/// <summary>
/// The generic types the Native AOT type loader builds while the bootstrap runs (its init, a <c>/health</c>, two
/// uploads), found with a uprobe on the type loader's <c>TryBuildGenericType</c>; printed as the entries of
/// ImageService/Lambda/PrebuiltGenerics.rd.xml, with those that file lacks. Linux x64 (the probe reads the arguments'
/// registers), as root (tracefs). The list it checks serves the arm64 build too: the types DI asks for are the same.
/// </summary>
public static partial class TypeLoadsRun
{
    private const string Tracing = "/sys/kernel/tracing";
    private const string Probe = "imageaspire_typeloads/generic";
    private const string TryBuildGenericType = "S_P_TypeLoader_Internal_Runtime_TypeLoader_TypeBuilder__TryBuildGenericType";

    public static async Task<int> RunAsync()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Console.Error.WriteLine("typeloads runs on Linux x64 only: its probe reads the System V x64 argument registers");
            return 2;
        }

        var output = Repository.PathOf("artifacts", $"typeloads-{LambdaBootstrap.HostRid}");
        var (exitCode, log) = await Repository.RunAsync("dotnet", [.. LambdaBootstrap.PublishArguments(LambdaBootstrap.HostRid, output), "-p:CopyOutputSymbolsToPublishDirectory=true"], Repository.Root, CancellationToken.None);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"publish failed: {log}");
        }

        var binary = Path.Combine(output, "bootstrap");
        var (functions, methodTables) = await ReadSymbolsAsync(binary + ".dbg");
        var entry = functions[TryBuildGenericType];
        if (!File.Exists(Path.Combine(Tracing, "uprobe_events")))
        {
            await Repository.RunAsync("mount", ["-t", "tracefs", "nodev", Tracing], Repository.Root, CancellationToken.None);
        }

        // The array behind the second argument (RuntimeTypeHandle[]): method table, length at +8, elements from +16.
        await File.AppendAllTextAsync(Path.Combine(Tracing, "uprobe_events"),
            $"p:{Probe} {binary}:0x{entry:x} definition=%di:x64 count=+8(%si):u32 arg0=+16(%si):x64 arg1=+24(%si):x64 arg2=+32(%si):x64\n");
        string trace;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(Tracing, "events", Probe, "enable"), "1");
            await File.WriteAllTextAsync(Path.Combine(Tracing, "trace"), string.Empty);
            await RunBootstrapAsync(output);
            trace = await File.ReadAllTextAsync(Path.Combine(Tracing, "trace"));
        }
        finally
        {
            await File.WriteAllTextAsync(Path.Combine(Tracing, "events", Probe, "enable"), "0");
            await File.AppendAllTextAsync(Path.Combine(Tracing, "uprobe_events"), $"-:{Probe}\n");
        }

        var clrNames = ClrNamesByMangledName(Repository.PathOf("ImageService", "obj", "Release", "net10.0", LambdaBootstrap.HostRid, "native", "bootstrap.ilc.rsp"));
        var built = new SortedDictionary<string, (string Assembly, string Type)>(StringComparer.Ordinal);
        var unnamed = 0;
        foreach (Match hit in ProbeHit().Matches(trace))
        {
            var loadBase = Hex(hit.Groups["ip"].Value) - entry;
            var count = int.Parse(hit.Groups["count"].Value, CultureInfo.InvariantCulture);
            var definition = methodTables.TryGetValue(Hex(hit.Groups["definition"].Value) - loadBase, out var mangledDefinition)
                && clrNames.TryGetValue(mangledDefinition, out var definitionName) ? definitionName : default;
            var arguments = Enumerable.Range(0, Math.Min(count, 3)).Select(i =>
                methodTables.TryGetValue(Hex(hit.Groups[$"arg{i}"].Value) - loadBase, out var mangled) && clrNames.TryGetValue(mangled, out var name)
                    ? $"[{name.Full},{name.Assembly}]" : null).ToList();
            if (definition.Full is null || count > 3 || arguments.Any(a => a is null))
            {
                unnamed++;
                continue;
            }

            var type = $"{definition.Full}[{string.Join(',', arguments)}]";
            built[PrebuiltGenerics.Entry(definition.Assembly, type)] = (definition.Assembly, type);
        }

        var listed = PrebuiltGenerics.Listed();
        var missing = built.Where(b => !listed.Contains(b.Key)).Select(b => b.Value).ToList();
        Console.WriteLine($"generic types built at run time (init, /health, two uploads): {built.Count + unnamed} ({unnamed} not named); not in PrebuiltGenerics.rd.xml: {missing.Count}");
        foreach (var group in missing.GroupBy(m => m.Assembly))
        {
            Console.WriteLine($"    <Assembly Name=\"{group.Key}\">");
            foreach (var (_, type) in group)
            {
                Console.WriteLine($"      <Type Name=\"{type}\" Dynamic=\"Required All\" />");
            }

            Console.WriteLine("    </Assembly>");
        }

        return missing.Count == 0 ? 0 : 1;
    }

    /// <summary>A bootstrap against the emulators: init, <c>GET /health</c>, two uploads.</summary>
    private static async Task RunBootstrapAsync(string output)
    {
        var (app, environment) = await BenchmarkAppHost.StartAsync();
        await using var appLifetime = app;
        await using var lambda = await LambdaBootstrap.StartRuntimeApiAsync(CancellationToken.None);
        var start = lambda.StartInfo(output, app.GetEndpoint("s3", "http"), app.GetEndpoint("dynamodb", "http"), environment);
        var health = lambda.InvokeAsync("/health", null, TimeSpan.FromSeconds(60), CancellationToken.None);
        await using var process = BootstrapProcess.Start(start);
        Require(await health, 200);
        for (var i = 0; i < 2; i++)
        {
            var upload = await lambda.UploadAsync(LambdaBootstrap.Claims($"typeloads-{Guid.NewGuid():N}"), Inputs.PhotoJpeg(1920, 1080), TimeSpan.FromSeconds(90), CancellationToken.None);
            Require(upload, 201);
        }
    }

    private static void Require(ImageAspire.LocalLambda.InvocationResult result, int status)
    {
        if (result.IsError || (int?)JsonNode.Parse(result.Payload)?["statusCode"] != status)
        {
            throw new InvalidOperationException(Encoding.UTF8.GetString(result.Payload));
        }
    }

    /// <summary>Function offsets by name, and method table symbols (<c>_ZTV&lt;length&gt;&lt;name&gt;</c>) by offset.</summary>
    private static async Task<(Dictionary<string, long> Functions, Dictionary<long, string> MethodTables)> ReadSymbolsAsync(string symbols)
    {
        var (exitCode, listing) = await Repository.RunAsync("nm", [symbols], Repository.Root, CancellationToken.None);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"nm failed: {listing}");
        }

        var functions = new Dictionary<string, long>(StringComparer.Ordinal);
        var methodTables = new Dictionary<long, string>();
        foreach (var line in listing.Split('\n'))
        {
            var parts = line.Split(' ', 3);
            if (parts.Length != 3 || parts[0].Length == 0)
            {
                continue;
            }

            if (parts[1] == "t")
            {
                functions.TryAdd(parts[2].Trim(), Hex(parts[0]));
            }
            else if (MethodTableSymbol().Match(parts[2].Trim()) is { Success: true } table)
            {
                methodTables.TryAdd(Hex(parts[0]), table.Groups[1].Value);
            }
        }

        return (functions, methodTables);
    }

    /// <summary>
    /// ILC's symbol names (<c>&lt;assembly&gt;_&lt;namespace.type&gt;</c>, every other character an underscore) of every type
    /// definition the compiler was given, with their assembly and reflection names.
    /// </summary>
    private static Dictionary<string, (string Assembly, string Full)> ClrNamesByMangledName(string responseFile)
    {
        var project = Repository.PathOf("ImageService");
        var assemblies = File.ReadAllLines(responseFile)
            .Select(l => l.StartsWith("-r:", StringComparison.Ordinal) ? l[3..] : l.StartsWith('-') ? null : l)
            .Where(l => l is not null && l.EndsWith(".dll", StringComparison.Ordinal))
            .Select(l => Path.Combine(project, l!));
        var names = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var path in assemblies.Where(File.Exists))
        {
            using var pe = new PEReader(File.OpenRead(path));
            if (!pe.HasMetadata)
            {
                continue;
            }

            var metadata = pe.GetMetadataReader();
            if (!metadata.IsAssembly)
            {
                continue;
            }

            var assembly = metadata.GetString(metadata.GetAssemblyDefinition().Name);
            foreach (var handle in metadata.TypeDefinitions)
            {
                var full = FullName(metadata, metadata.GetTypeDefinition(handle));
                names.TryAdd(NotIdentifier().Replace($"{assembly}_{full}", "_"), (assembly, full));
            }
        }

        return names;
    }

    private static string FullName(MetadataReader metadata, TypeDefinition type)
    {
        var declaring = type.GetDeclaringType();
        if (!declaring.IsNil)
        {
            return $"{FullName(metadata, metadata.GetTypeDefinition(declaring))}+{metadata.GetString(type.Name)}";
        }

        var space = metadata.GetString(type.Namespace);
        return space.Length == 0 ? metadata.GetString(type.Name) : $"{space}.{metadata.GetString(type.Name)}";
    }

    private static long Hex(string value) => long.Parse(value.StartsWith("0x", StringComparison.Ordinal) ? value[2..] : value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"generic: \((?<ip>0x[0-9a-f]+)\) definition=(?<definition>0x[0-9a-f]+) count=(?<count>\d+) arg0=(?<arg0>\S+) arg1=(?<arg1>\S+) arg2=(?<arg2>\S+)")]
    private static partial Regex ProbeHit();

    [GeneratedRegex(@"^_ZTV\d+(.+)$")]
    private static partial Regex MethodTableSymbol();

    [GeneratedRegex("[^A-Za-z0-9]")]
    private static partial Regex NotIdentifier();
}
