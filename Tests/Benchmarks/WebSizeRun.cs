using System.Diagnostics;

using ImageAspire.Tests.Support;

namespace ImageAspire.Benchmarks;

/// <summary>The web app's first-load transfer: brotli bytes of what the browser fetches to show the sign-in page.</summary>
public static class WebSizeRun
{
    public static async Task RunAsync()
    {
        var root = Repository.Root;
        var output = Path.Combine(root, "artifacts", "bench-web");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root };
        foreach (var argument in new[] { "publish", Path.Combine("Web", "Web.csproj"), "-c", "Release", "-o", output, "-v", "quiet" })
        {
            start.ArgumentList.Add(argument);
        }

        using (var process = Process.Start(start)!)
        {
            await process.WaitForExitAsync();
        }

        var wwwroot = Path.Combine(output, "wwwroot");
        var files = Directory.GetFiles(Path.Combine(wwwroot, "_framework"), "*.br")
            .Concat(new[] { "index.html.br", "css/app.css.br", "js/upload.js.br" }.Select(f => Path.Combine(wwwroot, f)))
            .Where(File.Exists)
            .Select(f => (Name: Path.GetRelativePath(wwwroot, f), Bytes: new FileInfo(f).Length))
            .OrderByDescending(f => f.Bytes)
            .ToList();
        var total = files.Sum(f => f.Bytes);
        Console.WriteLine($"first load (brotli): {total:N0} bytes = {total / 1024.0 / 1024.0:0.00} MiB = {total / 1_000_000.0:0.00} MB in {files.Count} files");
        foreach (var (name, bytes) in files.Take(6))
        {
            Console.WriteLine($"  {bytes,10:N0}  {name}");
        }
    }
}
