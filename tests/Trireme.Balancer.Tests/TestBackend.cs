using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Trireme.Balancer.Tests;

/// <summary>
/// A real TCP server on loopback for behaviour tests. Each connection is greeted with the server's name
/// and a newline, then every byte is echoed back, so a client learns which server it reached and can
/// check that its connection still forwards. <see cref="Stop"/> closes the listener and every
/// connection (a killed backend); <see cref="Start"/> listens again on the same port.
/// </summary>
internal sealed class TestBackend : IDisposable
{
    private readonly List<Socket> _connections = [];
    private Socket? _listener;

    public TestBackend(string name, IPAddress? address = null, int port = 0)
    {
        Name = name;
        Address = address ?? IPAddress.Loopback;
        Port = port;
        Start();
    }

    public IPAddress Address { get; }

    public string Name { get; }

    public int Port { get; private set; }

    public int Accepted { get; private set; }

    /// <summary>When set, a connection reads until the client's FIN and only then answers with this many
    /// bytes and closes: the half-close case.</summary>
    public int AnswerAfterFinBytes { get; set; }

    /// <summary>When set, a connection is greeted and then ignored: nothing read, nothing closed.</summary>
    public bool Silent { get; set; }

    public void Start()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(Address, Port));
        listener.Listen(512);
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _listener = listener;
        _ = AcceptLoop(listener);
    }

    public void Stop()
    {
        _listener?.Dispose();
        _listener = null;
        lock (_connections)
        {
            foreach (var c in _connections)
            {
                c.Dispose();
            }

            _connections.Clear();
        }
    }

    private async Task AcceptLoop(Socket listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_connections)
            {
                _connections.Add(socket);
                Accepted++;
            }

            _ = Serve(socket);
        }
    }

    private async Task Serve(Socket socket)
    {
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(Name + "\n"));
            if (Silent)
            {
                return;
            }

            var buffer = new byte[16 * 1024];
            var received = 0L;
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer);
                if (n == 0)
                {
                    break;
                }

                received += n;
                if (AnswerAfterFinBytes == 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, n));
                }
            }

            if (AnswerAfterFinBytes > 0)
            {
                var answer = new byte[AnswerAfterFinBytes];
                for (var i = 0; i < answer.Length; i++)
                {
                    answer[i] = (byte)('a' + (i % 26));
                }

                await socket.SendAsync(answer);
            }

            socket.Shutdown(SocketShutdown.Send);
            socket.Dispose();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopped or reset: the test is looking at the balancer, not at us.
        }
    }

    public void Dispose() => Stop();
}
