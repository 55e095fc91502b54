using System.Diagnostics;

namespace ImageAspire.Tests.Support;

/// <summary>
/// A started Lambda bootstrap (or any Runtime API client): its age since the start, its output drained while it runs;
/// killed when stopped or disposed. Shared by the published-artifact tests and the benchmarks (linked there).
/// </summary>
public sealed class BootstrapProcess : IAsyncDisposable
{
    private readonly Stopwatch _age;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly Action<string>? _onDisposed;

    private BootstrapProcess(Process process, Stopwatch age, Action<string>? onDisposed)
    {
        Process = process;
        _age = age;
        _onDisposed = onDisposed;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public Process Process { get; }

    /// <summary>Time since just before the process was started: process start → an answer is a cold start.</summary>
    public TimeSpan Age => _age.Elapsed;

    /// <param name="start">Must redirect standard output and error (<c>LambdaBootstrap.StartInfo</c> does).</param>
    /// <param name="onDisposed">Given what the process wrote, once it has been killed on dispose.</param>
    public static BootstrapProcess Start(ProcessStartInfo start, Action<string>? onDisposed = null)
    {
        var age = Stopwatch.StartNew();
        return new BootstrapProcess(Process.Start(start)!, age, onDisposed);
    }

    /// <summary>Kills the process (if still running) and returns what it wrote.</summary>
    public async Task<string> StopAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        await Process.WaitForExitAsync(CancellationToken.None);
        return await _stdout + await _stderr;
    }

    public async ValueTask DisposeAsync()
    {
        var output = await StopAsync();
        Process.Dispose();
        _onDisposed?.Invoke(output);
        // The Runtime API notices the killed process's /next long-poll closing a moment later; the next process's /next
        // must not race it.
        await Task.Delay(TimeSpan.FromMilliseconds(250));
    }
}
