using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ImageAspire.Tests.Support;

/// <summary>
/// An emulated arm64 machine (<c>qemu-system-aarch64</c>, full-system: .NET does not support qemu's user mode) that runs
/// a published Lambda bootstrap as Lambda's sandbox does: from <c>/var/task</c>, with the function's environment, on a
/// Debian kernel and a userland of busybox, glibc, libstdc++ and OpenSSL (Tests/Arm64Guest/fetch-packages.sh). The
/// guest has no network device; the loopback ports it is given are carried over a virtio serial port to the same ports
/// on this machine's loopback (<see cref="LoopbackTunnel"/>), where the Runtime API and the emulators listen.
/// </summary>
public sealed class Arm64Machine : IAsyncDisposable
{
    private readonly Process _qemu;
    private readonly StringBuilder _console = new();
    private readonly Socket _listener;
    private readonly string _directory;
    private Socket? _port;
    private LoopbackTunnel? _tunnel;
    private Task _tunnelRun = Task.CompletedTask;

    private Arm64Machine(Process qemu, Socket listener, string directory)
    {
        _qemu = qemu;
        _listener = listener;
        _directory = directory;
    }

    /// <summary>Where fetch-packages.sh unpacks the guest's kernel and userland (kept between runs).</summary>
    public static string GuestFiles => Repository.PathOf("artifacts", "arm64-guest");

    /// <summary>The serial console: the kernel's, the init script's and the bootstrap's output.</summary>
    public string Console
    {
        get
        {
            lock (_console)
            {
                return _console.ToString();
            }
        }
    }

    /// <summary>How many connections the guest opened to each of this machine's ports.</summary>
    public IReadOnlyDictionary<int, int> ConnectionsByPort => _tunnel?.OpenedByPort ?? new();

    /// <summary>Fetches the guest's packages (once) and publishes the guest's tunnel for linux-arm64; returns its folder.</summary>
    public static async Task<string> PrepareAsync(CancellationToken cancellationToken)
    {
        var fetch = await Repository.RunAsync("bash", [Repository.PathOf("Tests", "Arm64Guest", "fetch-packages.sh"), GuestFiles], Repository.Root, cancellationToken);
        if (fetch.ExitCode != 0)
        {
            throw new InvalidOperationException($"Fetching the arm64 guest's packages failed (needs dpkg's arm64 architecture and apt): {fetch.Output}");
        }

        var tunnel = Path.Combine(Path.GetTempPath(), $"imageaspire-tunnel-{Guid.NewGuid():N}");
        var publish = await Repository.RunAsync(
            "dotnet",
            ["publish", Repository.PathOf("Tests", "Arm64Guest", "Arm64Guest.csproj"), "-c", "Release", "-r", "linux-arm64", "-o", tunnel, "-v", "quiet"],
            Repository.Root,
            cancellationToken);
        return publish.ExitCode == 0 ? tunnel : throw new InvalidOperationException($"Publishing the guest's tunnel failed: {publish.Output}");
    }

    /// <summary>
    /// Boots the machine with the files of <paramref name="published"/> that deploy as <c>/var/task</c> and
    /// <paramref name="environment"/> as the bootstrap's environment; the guest's loopback <paramref name="ports"/> reach
    /// this machine's.
    /// </summary>
    public static async Task<Arm64Machine> BootAsync(
        string tunnel, string published, IReadOnlyDictionary<string, string> environment, IReadOnlyCollection<int> ports,
        CancellationToken cancellationToken)
    {
        var qemuPath = Array.Find(["/usr/bin/qemu-system-aarch64", "/usr/local/bin/qemu-system-aarch64"], File.Exists)
            ?? throw new InvalidOperationException("qemu-system-aarch64 is not installed (Debian: apt-get install qemu-system-arm).");
        var directory = Directory.CreateTempSubdirectory("imageaspire-arm64-").FullName;
        var initramfs = Path.Combine(directory, "initramfs.cpio");
        await using (var output = File.Create(initramfs))
        {
            var archive = new CpioArchive(output);
            archive.AddTree(Path.Combine(GuestFiles, "root"), "/");
            foreach (var empty in new[] { "/dev", "/proc", "/sys", "/tmp", "/etc", "/opt", "/opt/tunnel", "/var", "/var/task" })
            {
                archive.AddDirectory(empty);
            }

            archive.AddFile("/init", Repository.PathOf("Tests", "Arm64Guest", "init"), executable: true);
            archive.AddFile("/opt/tunnel/tunnel", Path.Combine(tunnel, "tunnel"), executable: true);
            archive.AddText("/etc/hosts", "127.0.0.1 localhost\n");
            archive.AddText("/etc/nsswitch.conf", "hosts: files\n");
            var variables = new Dictionary<string, string>(environment)
            {
                ["TUNNEL_PORTS"] = string.Join(' ', ports),
                ["LAMBDA_TASK_ROOT"] = "/var/task",
                ["LD_LIBRARY_PATH"] = "/var/task:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu",
            };
            archive.AddText("/etc/function.env", string.Concat(variables.Select(v => $"export {v.Key}='{v.Value.Replace("'", "'\\''", StringComparison.Ordinal)}'\n")));
            foreach (var file in LambdaBootstrap.DeployedFiles(published))
            {
                var relative = Path.GetRelativePath(published, file).Replace('\\', '/');
                var parent = Path.GetDirectoryName(relative);
                if (!string.IsNullOrEmpty(parent))
                {
                    archive.AddDirectories("/var/task/" + parent);
                }

                archive.AddFile("/var/task/" + relative, file, executable: relative == "bootstrap");
            }

            archive.Finish();
        }

        var socketPath = Path.Combine(directory, "tunnel.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);

        var start = new ProcessStartInfo(qemuPath) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in new[]
        {
            // cortex-a72: -cpu max is ~4x slower here, emulating pointer authentication.
            "-M", "virt", "-cpu", "cortex-a72", "-smp", "1", "-m", "1024", "-nographic", "-no-reboot", "-nic", "none",
            "-kernel", Path.Combine(GuestFiles, "vmlinuz"), "-initrd", initramfs,
            "-append", "console=ttyAMA0 panic=-1 quiet",
            "-device", "virtio-serial-device",
            "-chardev", $"socket,id=tunnel,path={socketPath}",
            "-device", "virtserialport,chardev=tunnel,name=tunnel",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var machine = new Arm64Machine(Process.Start(start)!, listener, directory);
        machine._qemu.OutputDataReceived += (_, line) => machine.Append(line.Data);
        machine._qemu.ErrorDataReceived += (_, line) => machine.Append(line.Data);
        machine._qemu.BeginOutputReadLine();
        machine._qemu.BeginErrorReadLine();
        try
        {
            using var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connecting.CancelAfter(TimeSpan.FromSeconds(30));
            machine._port = await listener.AcceptAsync(connecting.Token);
        }
        catch (OperationCanceledException)
        {
            await machine.DisposeAsync();
            throw new InvalidOperationException($"qemu did not open the tunnel's socket: {machine.Console}");
        }

        machine._tunnel = new LoopbackTunnel(new NetworkStream(machine._port, ownsSocket: false));
        machine._tunnelRun = machine._tunnel.RunAsync(
            (port, connecting) => LoopbackTunnel.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), connecting), CancellationToken.None);
        return machine;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_console)
            {
                _console.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_qemu.HasExited)
        {
            _qemu.Kill(entireProcessTree: true);
        }

        await _qemu.WaitForExitAsync(CancellationToken.None);
        _port?.Dispose();
        await _tunnelRun;
        if (_tunnel is not null)
        {
            await _tunnel.DisposeAsync();
        }

        _listener.Dispose();
        _qemu.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>An initramfs: the kernel's cpio "newc" format, uncompressed (the kernel takes it as it is).</summary>
    private sealed class CpioArchive(Stream output)
    {
        private readonly HashSet<string> _directories = ["/"];
        private int _inode = 1;

        public void AddTree(string source, string target)
        {
            foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                var path = target.TrimEnd('/') + "/" + Path.GetRelativePath(source, entry.FullName).Replace('\\', '/');
                if (entry.LinkTarget is { } link)
                {
                    Write(path, 0xA1FF, Encoding.UTF8.GetBytes(link));
                }
                else if (entry is DirectoryInfo)
                {
                    AddDirectory(path);
                }
                else
                {
                    AddFile(path, entry.FullName, executable: (((FileInfo)entry).UnixFileMode & UnixFileMode.UserExecute) != 0);
                }
            }
        }

        public void AddDirectories(string path)
        {
            var partial = string.Empty;
            foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                partial += "/" + part;
                AddDirectory(partial);
            }
        }

        public void AddDirectory(string path)
        {
            if (_directories.Add(path))
            {
                Write(path, 0x41ED, []);
            }
        }

        public void AddFile(string path, string source, bool executable) => Write(path, executable ? 0x81ED : 0x81A4, File.ReadAllBytes(source));

        public void AddText(string path, string text) => Write(path, 0x81A4, Encoding.UTF8.GetBytes(text));

        public void Finish() => Write("TRAILER!!!", 0, []);

        private void Write(string path, int mode, byte[] data)
        {
            var name = path.TrimStart('/');
            var fields = new[] { _inode++, mode, 0, 0, 1, 0, data.Length, 0, 0, 0, 0, Encoding.UTF8.GetByteCount(name) + 1, 0 };
            var header = "070701" + string.Concat(fields.Select(f => f.ToString("X8", CultureInfo.InvariantCulture)));
            output.Write(Encoding.ASCII.GetBytes(header));
            output.Write(Encoding.UTF8.GetBytes(name));
            output.WriteByte(0);
            Pad(header.Length + Encoding.UTF8.GetByteCount(name) + 1);
            output.Write(data);
            Pad(data.Length);
        }

        private void Pad(int length)
        {
            for (var i = length; i % 4 != 0; i++)
            {
                output.WriteByte(0);
            }
        }
    }
}
