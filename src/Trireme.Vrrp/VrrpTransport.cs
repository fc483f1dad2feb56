using System.Net;
using System.Net.Sockets;
using System.Text;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp;

/// <summary>
/// Moves whole VRRP IPv4 datagrams (header included, built by <see cref="VrrpPacketCodec"/>) between
/// instances. Receive blocks and is called from one dedicated thread; Send is called from the instance loop.
/// </summary>
public interface IVrrpTransport : IDisposable
{
    void Send(ReadOnlySpan<byte> datagram, Ipv4 target);

    /// <summary>Blocks until a datagram arrives; returns its length, or 0 when the transport is closed.
    /// <paramref name="arrivalTimestamp"/> is the kernel's receive time as a Stopwatch timestamp (0 if unknown).</summary>
    int Receive(Span<byte> buffer, out long arrivalTimestamp);
}

/// <summary>
/// IP protocol 112 on a raw socket with IP_HDRINCL (so TTL 255, DSCP and the source address are ours),
/// bound to the interface, with 224.0.0.18 joined there for multicast mode.
/// </summary>
public sealed class RawVrrpTransport : IVrrpTransport
{
    private readonly Socket _socket;
    private readonly ReceiveTimestamps _stamps;

    public RawVrrpTransport(string interfaceName, int interfaceIndex, bool joinMulticast)
    {
        // .NET's Socket constructor only maps protocol numbers it knows, and 112 is not one of them, so
        // the descriptor comes from libc and Socket wraps it.
        var fd = LinuxNative.Socket(LinuxNative.AfInet, LinuxNative.SockRaw, VrrpPacketCodec.IpProtocolVrrp);
        LinuxNative.ThrowIfFailed(fd, "socket(AF_INET, SOCK_RAW, 112)");
        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.HeaderIncluded, true);
        _socket.SetRawSocketOption(LinuxNative.SolSocket, LinuxNative.SoBindToDevice, Encoding.ASCII.GetBytes(interfaceName + "\0"));
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IPAddress.HostToNetworkOrder(interfaceIndex));
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, false);
        if (joinMulticast)
        {
            _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
                new MulticastOption(IPAddress.Parse(VrrpPacketCodec.MulticastGroup.ToString()), interfaceIndex));
        }

        _stamps = new ReceiveTimestamps(fd);
        _stamps.Enable();
    }

    public void Send(ReadOnlySpan<byte> datagram, Ipv4 target) =>
        _socket.SendTo(datagram, SocketFlags.None, new IPEndPoint(new IPAddress(target.Value.ToBigEndianBytes()), 0));

    public int Receive(Span<byte> buffer, out long arrivalTimestamp)
    {
        arrivalTimestamp = 0;
        try
        {
            var n = _socket.Receive(buffer); // IPv4 raw sockets deliver the IP header too
            arrivalTimestamp = _stamps.LastArrival();
            return n;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>
/// Dev mode: the same datagrams as UDP payloads between 127.x addresses on one port. The UDP source must
/// match the datagram's own source address, so one instance cannot speak for another by accident.
/// </summary>
public sealed class LoopbackVrrpTransport : IVrrpTransport
{
    private readonly Socket _socket;
    private readonly int _port;
    private readonly ReceiveTimestamps _stamps;

    public LoopbackVrrpTransport(Ipv4 self, int port)
    {
        _port = port;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(ToAddress(self), port));
        _stamps = new ReceiveTimestamps((int)_socket.Handle);
        _stamps.Enable();
    }

    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public void Send(ReadOnlySpan<byte> datagram, Ipv4 target)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, new IPEndPoint(ToAddress(target), _port));
        }
        catch (SocketException)
        {
            // A peer that is not running answers with ICMP unreachable; VRRP is fire-and-forget.
        }
    }

    public int Receive(Span<byte> buffer, out long arrivalTimestamp)
    {
        arrivalTimestamp = 0;
        while (true)
        {
            try
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                var n = _socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
                var source = Ipv4.Read(((IPEndPoint)from).Address.GetAddressBytes());
                if (n >= VrrpPacketCodec.Ipv4HeaderBytes && Ipv4.Read(buffer[12..]) == source)
                {
                    arrivalTimestamp = _stamps.LastArrival();
                    return n;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // the ICMP unreachable of an earlier send to a stopped peer
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return 0;
            }
        }
    }

    internal static IPAddress ToAddress(Ipv4 address) => new(address.Value.ToBigEndianBytes());

    public void Dispose() => _socket.Dispose();
}

internal static class Ipv4Extensions
{
    public static byte[] ToBigEndianBytes(this uint value) =>
        [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public static IPAddress ToIPAddress(this Ipv4 address) => new(address.Value.ToBigEndianBytes());
}
