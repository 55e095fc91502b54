using System.Diagnostics;
using ImageAspire.ImageService.Processing;

namespace ImageAspire.Benchmarks;

/// <summary>Peak RSS of the whole process while two 24 MP pipelines run at once (VmHWM from /proc).</summary>
public static class MemoryRun
{
    /// <summary>Writes the input, then measures in a fresh child process that only reads it (generation would skew the peak).</summary>
    public static void Run()
    {
        var file = Path.Combine(Path.GetTempPath(), "imageaspire-24mp.jpg");
        File.WriteAllBytes(file, Inputs.Get("jpeg-24mp"));
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        start.ArgumentList.Add("rss-child");
        start.ArgumentList.Add(file);
        start.Environment["MALLOC_ARENA_MAX"] = "2"; // as the AppHost and the Lambda environment set it
        using var child = Process.Start(start)!;
        Console.Write(child.StandardOutput.ReadToEnd());
        child.WaitForExit();
    }

    public static void Child(string file)
    {
        var input = File.ReadAllBytes(file);
        var pipeline = new NetVipsImagePipeline(Microsoft.Extensions.Options.Options.Create(new ProcessingOptions
        {
            FontFile = Path.Combine(AppContext.BaseDirectory, "Assets", "fonts", "DejaVuSans-Bold.ttf"),
        }));
        GC.Collect();
        var before = Status("VmRSS");
        var stopwatch = Stopwatch.StartNew();
        Parallel.For(0, 2, _ => pipeline.ProcessAll(input, ProcessingSettings.Default));
        Console.WriteLine($"input: 24 MP JPEG, {input.Length / 1024} KiB; two pipelines in parallel took {stopwatch.ElapsedMilliseconds} ms");
        Console.WriteLine($"RSS before: {before / 1024} MiB; peak RSS (VmHWM, whole process, input buffer included): {Status("VmHWM") / 1024} MiB");
        Console.WriteLine($"MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "(unset)"}");
    }

    private static long Status(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
}
