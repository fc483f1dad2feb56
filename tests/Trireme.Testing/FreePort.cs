using System.Net;
using System.Net.Sockets;

namespace Trireme.Testing;

/// <summary>Free TCP ports, found by binding port 0 (tests never use fixed ports).</summary>
public static class FreePort
{
    public static int Get(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        using var listener = new TcpListener(address, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
