using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Unit;

/// <summary>
/// The tunnel the arm64 guest reaches the host's loopback through, with both ends in this process over a real Unix
/// socket and a real TCP server on the far side: many connections at once, each byte in order, ends passed on.
/// </summary>
public sealed class LoopbackTunnelTests
{
    [Fact]
    public async Task Concurrent_connections_carry_their_own_bytes_both_ways()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var echo = Listen();
        var serving = ServeEchoAsync(echo, cancellationToken);
        await using var pair = await TunnelPair.StartAsync((IPEndPoint)echo.LocalEndPoint!, cancellationToken);

        var payloads = Enumerable.Range(0, 16).Select(_ => RandomNumberGenerator.GetBytes(300 * 1024)).ToList();
        var echoed = await Task.WhenAll(payloads.Select(async payload =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, pair.EntryPort), cancellationToken);
            var sending = SendThenShutdownAsync(client, payload, cancellationToken);
            var received = await ReceiveToEndAsync(client, cancellationToken);
            await sending;
            return received;
        })).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

        for (var i = 0; i < payloads.Count; i++)
        {
            Assert.Equal(payloads[i], echoed[i]);
        }

        Assert.Equal(payloads.Count, pair.Host.OpenedByPort[pair.EntryPort]);
        echo.Dispose();
        await serving.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    [Fact]
    public async Task A_connection_to_a_port_nothing_listens_on_is_closed_not_left_hanging()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // A port that was just free: bound, read, released.
        int closedPort;
        using (var probe = Listen())
        {
            closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        await using var pair = await TunnelPair.StartAsync(new IPEndPoint(IPAddress.Loopback, closedPort), cancellationToken);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, pair.EntryPort), cancellationToken);

        var received = await ReceiveToEndAsync(client, cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);

        Assert.Empty(received);
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(64);
        return listener;
    }

    private static async Task ServeEchoAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (true)
        {
            var connection = await listener.AcceptAsync(cancellationToken);
            _ = Task.Run(
                async () =>
                {
                    using (connection)
                    {
                        var buffer = new byte[8192];
                        int read;
                        while ((read = await connection.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
                        {
                            await connection.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
                        }

                        connection.Shutdown(SocketShutdown.Send);
                    }
                },
                cancellationToken);
        }
    }

    private static async Task SendThenShutdownAsync(Socket socket, byte[] payload, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < payload.Length; offset += 10_000)
        {
            await socket.SendAsync(payload.AsMemory(offset, Math.Min(10_000, payload.Length - offset)), SocketFlags.None, cancellationToken);
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static async Task<byte[]> ReceiveToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return received.ToArray();
    }

    /// <summary>
    /// The guest's end and the host's end joined by a Unix socket, as qemu joins them. The guest's end listens on a port
    /// of its own (<see cref="EntryPort"/>) and the host's end connects what it announces to the target (the real
    /// guest listens on the host's port numbers).
    /// </summary>
    private sealed class TunnelPair : IAsyncDisposable
    {
        private readonly Socket _guestSocket;
        private readonly Socket _hostSocket;
        private readonly Socket _entry = Listen();
        private readonly CancellationTokenSource _stopping = new();
        private readonly List<Task> _running = [];

        private TunnelPair(Socket guestSocket, Socket hostSocket)
        {
            _guestSocket = guestSocket;
            _hostSocket = hostSocket;
            Guest = new LoopbackTunnel(new NetworkStream(guestSocket));
            Host = new LoopbackTunnel(new NetworkStream(hostSocket));
        }

        public LoopbackTunnel Guest { get; }

        public LoopbackTunnel Host { get; }

        public int EntryPort => ((IPEndPoint)_entry.LocalEndPoint!).Port;

        public static async Task<TunnelPair> StartAsync(IPEndPoint target, CancellationToken cancellationToken)
        {
            var path = Path.Combine(Path.GetTempPath(), $"tunnel-{Guid.NewGuid():N}.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var guest = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await guest.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            var host = await listener.AcceptAsync(cancellationToken);
            File.Delete(path);
            var pair = new TunnelPair(guest, host);
            pair._running.Add(pair.Guest.RunAsync(connectOpened: null, pair._stopping.Token));
            pair._running.Add(pair.Host.RunAsync((_, connecting) => LoopbackTunnel.ConnectAsync(target, connecting), pair._stopping.Token));
            pair._running.Add(pair.Guest.AcceptAsync(pair._entry, pair._stopping.Token));
            return pair;
        }

        public async ValueTask DisposeAsync()
        {
            await _stopping.CancelAsync();
            _entry.Dispose();
            _guestSocket.Dispose();
            _hostSocket.Dispose();
            await Task.WhenAll(_running.Select(t => t.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)));
            await Guest.DisposeAsync();
            await Host.DisposeAsync();
            _stopping.Dispose();
        }
    }
}
