using System.Diagnostics;

namespace ImageAspire.Tests.Support;

/// <summary>Paths in the repository and running its Node scripts.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ImageAspire.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("ImageAspire.sln not found above " + AppContext.BaseDirectory);
    }

    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    /// <summary>Installs a folder's locked npm packages (once) and runs a Node script in it.</summary>
    public static async Task<(int ExitCode, string Output)> RunNodeAsync(string folder, string script, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            var install = await RunAsync("node", [PathOf("Infra", "Local", "emulators", "install-once.js"), folder], folder, cancellationToken);
            if (install.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {folder} failed: {install.Output}");
            }
        }
        finally
        {
            InstallLock.Release();
        }

        return await RunAsync("node", [script, .. arguments], folder, cancellationToken);
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string command, IEnumerable<string> arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }
}
