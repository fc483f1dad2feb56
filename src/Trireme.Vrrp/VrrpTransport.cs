using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp;

/// <summary>
/// Moves whole VRRP IPv4 datagrams (header included, built by <see cref="VrrpPacketCodec"/>) between
/// instances. Only the instance's loop thread calls it: it polls <see cref="PollDescriptor"/>, then reads
/// with <see cref="TryReceive"/> until nothing is left, and sends from the same thread.
/// </summary>
public interface IVrrpTransport : IDisposable
{
    /// <summary>The socket descriptor the loop waits on (readable = a datagram is waiting).</summary>
    int PollDescriptor { get; }

    void Send(ReadOnlySpan<byte> datagram, Ipv4 target);

    /// <summary>Readies what a <see cref="Send"/> to <paramref name="target"/> needs — its socket address
    /// and the compiled code — without sending, so a takeover's first advert costs only the send.</summary>
    void Prepare(Ipv4 target)
    {
    }

    /// <summary>Never blocks: the length of the next datagram, or 0 when none is waiting.
    /// <paramref name="arrivalTimestamp"/> is the kernel's receive time as a Stopwatch timestamp (0 if unknown).</summary>
    int TryReceive(Span<byte> buffer, out long arrivalTimestamp);
}

/// <summary>
/// IP protocol 112 on a raw socket with IP_HDRINCL (so TTL 255, DSCP and the source address are ours),
/// bound to the interface, with 224.0.0.18 joined there for multicast mode.
/// </summary>
public sealed class RawVrrpTransport : IVrrpTransport
{
    private readonly Socket _socket;
    private readonly ReceiveTimestamps _stamps;
    private readonly int _fd;
    private readonly SocketAddressCache _addresses = new();

    public RawVrrpTransport(string interfaceName, int interfaceIndex, bool joinMulticast)
    {
        // .NET's Socket constructor only maps protocol numbers it knows, and 112 is not one of them, so
        // the descriptor comes from libc and Socket wraps it.
        var fd = LinuxNative.Socket(LinuxNative.AfInet, LinuxNative.SockRaw, VrrpPacketCodec.IpProtocolVrrp);
        LinuxNative.ThrowIfFailed(fd, "socket(AF_INET, SOCK_RAW, 112)");
        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true)) { Blocking = false };
        _fd = fd;
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

    public int PollDescriptor => _fd;

    /// <summary>A plain sendto with a sockaddr built once per target: nothing is allocated or compiled
    /// on the way out when this node takes over.</summary>
    public void Send(ReadOnlySpan<byte> datagram, Ipv4 target)
    {
        var address = _addresses.For(target, 0);
        var sent = LinuxNative.SendTo(_fd, ref MemoryMarshal.GetReference(datagram), datagram.Length, 0, address, address.Length);
        if (sent < 0)
        {
            LinuxNative.ThrowIfFailed(sent, $"send advert to {target}");
        }
    }

    public void Prepare(Ipv4 target)
    {
        _addresses.For(target, 0);
        JitWarmUp.Prepare(typeof(RawVrrpTransport), nameof(Send));
    }

    public int TryReceive(Span<byte> buffer, out long arrivalTimestamp)
    {
        arrivalTimestamp = 0;
        var n = _socket.Receive(buffer, SocketFlags.None, out var error); // IPv4 raw sockets deliver the IP header too
        if (error != SocketError.Success || n <= 0)
        {
            return 0; // WouldBlock: nothing waiting; anything else is dropped like a bad packet
        }

        arrivalTimestamp = _stamps.LastArrival();
        return n;
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
    private const int MaxDatagramsPerRead = 64;

    private readonly int _port;
    private readonly ReceiveTimestamps _stamps;
    private readonly byte[] _from = new byte[16]; // sockaddr_in
    private readonly SocketAddressCache _addresses = new();

    public LoopbackVrrpTransport(Ipv4 self, int port)
    {
        _port = port;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(ToAddress(self), port));
        PollDescriptor = (int)_socket.Handle;
        _stamps = new ReceiveTimestamps(PollDescriptor);
        _stamps.Enable();
    }

    public int PollDescriptor { get; }

    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public void Send(ReadOnlySpan<byte> datagram, Ipv4 target)
    {
        // Fire-and-forget: a peer that is not running answers with ICMP unreachable, which is ignored.
        var address = _addresses.For(target, _port);
        LinuxNative.SendTo(PollDescriptor, ref MemoryMarshal.GetReference(datagram), datagram.Length, 0, address, address.Length);
    }

    public void Prepare(Ipv4 target)
    {
        _addresses.For(target, _port);
        JitWarmUp.Prepare(typeof(LoopbackVrrpTransport), nameof(Send));
    }

    public int TryReceive(Span<byte> buffer, out long arrivalTimestamp)
    {
        arrivalTimestamp = 0;
        // Bounded: a flood of foreign datagrams cannot keep the loop here; what is left waits for the next poll.
        for (var attempt = 0; attempt < MaxDatagramsPerRead; attempt++)
        {
            var addressLength = _from.Length;
            var n = (int)LinuxNative.RecvFrom(PollDescriptor, ref MemoryMarshal.GetReference(buffer), buffer.Length,
                LinuxNative.MsgDontWait, _from, ref addressLength);
            if (n < 0)
            {
                return 0; // EAGAIN: nothing waiting (or a socket error, which recvfrom has now cleared)
            }

            // sockaddr_in: family, port, then the address at offset 4, in network order like the header's.
            // Too short for a header: the codec drops and counts it (TooShort). A header that names another
            // sender than the socket saw is dropped here: in dev mode any local process can send to the port.
            if (n < VrrpPacketCodec.Ipv4HeaderBytes || Ipv4.Read(buffer[12..]) == Ipv4.Read(_from.AsSpan(4)))
            {
                arrivalTimestamp = _stamps.LastArrival();
                return n;
            }
        }

        return 0;
    }

    internal static IPAddress ToAddress(Ipv4 address) => new(address.Value.ToBigEndianBytes());

    public void Dispose() => _socket.Dispose();
}

/// <summary>The sockaddr_in of each target, built on first use; a router has at most a handful.</summary>
internal sealed class SocketAddressCache
{
    private Ipv4[] _targets = [];
    private byte[][] _addresses = [];

    public byte[] For(Ipv4 target, int port)
    {
        for (var i = 0; i < _targets.Length; i++)
        {
            if (_targets[i] == target)
            {
                return _addresses[i];
            }
        }

        var address = LinuxNative.SocketAddress(target, port);
        _targets = [.. _targets, target];
        _addresses = [.. _addresses, address];
        return address;
    }
}

internal static class Ipv4Extensions
{
    public static byte[] ToBigEndianBytes(this uint value) =>
        [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public static IPAddress ToIPAddress(this Ipv4 address) => new(address.Value.ToBigEndianBytes());
}
