using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace ImageAspire.Tests.Support;

/// <summary>
/// TCP connections carried over one byte stream (a virtio serial port in the arm64 guest, a Unix socket on the host):
/// the guest accepts connections on loopback ports and announces each one; the host connects each announced
/// connection to the same port on its own loopback. One side of it runs in the guest (Tests/Arm64Guest), the other in
/// the tests, which is why it depends on nothing but the BCL.
/// </summary>
/// <remarks>
/// Only one side accepts, so only that side numbers streams. A frame is a type byte, a little-endian stream number and payload length, then the payload: <c>Open</c> (the
/// port), <c>Data</c>, or <c>Close</c> (the sender sends no more on that stream). Each stream's incoming data is
/// queued and written by its own task, so a connection whose reader is slow never stalls the others.
/// </remarks>
public sealed class LoopbackTunnel(Stream transport) : IAsyncDisposable
{
    private const byte Open = 1;
    private const byte Data = 2;
    private const byte Close = 3;
    private const int HeaderLength = 9;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<int, Connection> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _lastStream;

    /// <summary>Connections the other side opened (so far), by port: what the guest reached on the host.</summary>
    public ConcurrentDictionary<int, int> OpenedByPort { get; } = new();

    /// <summary>
    /// Reads frames until the transport ends. <paramref name="connectOpened"/> is how streams the other side opens are
    /// connected (the host's side connects to its loopback); null refuses them.
    /// </summary>
    public async Task RunAsync(Func<int, CancellationToken, Task<Socket>>? connectOpened, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var header = new byte[HeaderLength];
        try
        {
            while (true)
            {
                await transport.ReadExactlyAsync(header, linked.Token);
                var type = header[0];
                var stream = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(1));
                var payload = new byte[BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(5))];
                await transport.ReadExactlyAsync(payload, linked.Token);
                switch (type)
                {
                    case Open:
                        var port = BinaryPrimitives.ReadUInt16LittleEndian(payload);
                        OpenedByPort.AddOrUpdate(port, 1, (_, count) => count + 1);
                        // Registered before connecting: the other side's data may follow at once.
                        var opened = _connections[stream] = new Connection();
                        _ = ConnectOpenedAsync(stream, opened, port, connectOpened, linked.Token);
                        break;
                    case Data when _connections.TryGetValue(stream, out var connection):
                        connection.Incoming.Writer.TryWrite(payload);
                        break;
                    case Close when _connections.TryGetValue(stream, out var connection):
                        connection.Incoming.Writer.TryComplete();
                        break;
                    default:
                        // Data for a stream already gone (its socket failed): dropped, as TCP would after a reset.
                        break;
                }
            }
        }
        catch (Exception exception) when (exception is EndOfStreamException or OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The transport ended (or was closed under the read): every connection it carried ends with it.
            foreach (var connection in _connections.Values)
            {
                connection.Socket?.Dispose();
            }
        }
    }

    /// <summary>A TCP connection to <paramref name="target"/>, for the side that connects what the other side opens.</summary>
    public static async Task<Socket> ConnectAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(target, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Accepts connections on <paramref name="listener"/> and carries each over the tunnel, announced with its port.</summary>
    public async Task AcceptAsync(Socket listener, CancellationToken cancellationToken)
    {
        var port = (ushort)((IPEndPoint)listener.LocalEndPoint!).Port;
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = await listener.AcceptAsync(cancellationToken);
            socket.NoDelay = true;
            var stream = Interlocked.Increment(ref _lastStream);
            var portBytes = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(portBytes, port);
            // Announced before any of its data is sent, registered before the other side can answer.
            var connection = _connections[stream] = new Connection();
            await SendAsync(Open, stream, portBytes, cancellationToken);
            Carry(stream, connection, socket);
        }
    }

    private async Task ConnectOpenedAsync(
        int stream, Connection connection, int port, Func<int, CancellationToken, Task<Socket>>? connect, CancellationToken cancellationToken)
    {
        try
        {
            var socket = connect is null ? throw new SocketException((int)SocketError.ConnectionRefused) : await connect(port, cancellationToken);
            Carry(stream, connection, socket);
        }
        catch (SocketException)
        {
            _connections.TryRemove(stream, out _);
            await SendAsync(Close, stream, ReadOnlyMemory<byte>.Empty, cancellationToken);
        }
    }

    private void Carry(int stream, Connection connection, Socket socket)
    {
        connection.Socket = socket;
        _ = Task.WhenAll(PumpOutAsync(stream, connection), PumpInAsync(connection)).ContinueWith(
            _ =>
            {
                _connections.TryRemove(stream, out var _);
                socket.Dispose();
            },
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    // The local socket's bytes go out as Data frames; its end of stream as Close.
    private async Task PumpOutAsync(int stream, Connection connection)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await connection.Socket!.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token)) > 0)
            {
                await SendAsync(Data, stream, buffer.AsMemory(0, read), _stopping.Token);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            connection.Incoming.Writer.TryComplete();
        }

        try
        {
            await SendAsync(Close, stream, ReadOnlyMemory<byte>.Empty, _stopping.Token);
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The tunnel is gone; so is the other side.
        }
    }

    // The other side's Data frames are written to the local socket; its Close ends the socket's sending side.
    private static async Task PumpInAsync(Connection connection)
    {
        try
        {
            await foreach (var payload in connection.Incoming.Reader.ReadAllAsync())
            {
                await connection.Socket!.SendAsync(payload, SocketFlags.None);
            }

            connection.Socket!.Shutdown(SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // The local end went away; PumpOutAsync reports it to the other side.
        }
    }

    private async Task SendAsync(byte type, int stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderLength];
        header[0] = type;
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(1), stream);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(5), payload.Length);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await transport.WriteAsync(header, cancellationToken);
            await transport.WriteAsync(payload, cancellationToken);
            await transport.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var connection in _connections.Values)
        {
            connection.Socket?.Dispose();
        }

        _stopping.Dispose();
        _writeLock.Dispose();
    }

    private sealed class Connection
    {
        public Socket? Socket { get; set; }

        public Channel<byte[]> Incoming { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    }
}
