using System.Net;
using System.Net.Sockets;
using ImageAspire.Tests.Support;

// In the arm64 guest: listens on the given loopback ports and carries every connection over the virtio serial port
// to the host, which connects it to the same port there. Writes /tmp/tunnel-ready once listening; ends when the host
// closes the port.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: tunnel <serial device> <port>...");
    return 2;
}

await using var device = new FileStream(args[0], FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
await using var tunnel = new LoopbackTunnel(device);
using var stopping = new CancellationTokenSource();
var listeners = args[1..].Select(port =>
{
    var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(new IPEndPoint(IPAddress.Loopback, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)));
    listener.Listen(512);
    return listener;
}).ToList();
var accepting = listeners.Select(listener => tunnel.AcceptAsync(listener, stopping.Token)).ToList();
await File.WriteAllTextAsync("/tmp/tunnel-ready", string.Join(' ', args[1..]));
Console.WriteLine($"tunnel: listening on 127.0.0.1 ports {string.Join(", ", args[1..])}");
await tunnel.RunAsync(connectOpened: null, stopping.Token);
await stopping.CancelAsync();
foreach (var listener in listeners)
{
    listener.Dispose();
}

Console.WriteLine("tunnel: the host closed the port");
return 0;
