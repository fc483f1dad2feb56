using System.Buffers.Binary;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp;

/// <summary>
/// Sends gratuitous ARP requests (sender IP = target IP = VIP, broadcast) through an AF_PACKET socket, so
/// that neighbours repoint the VIP to this node's MAC. Linux accepts a gratuitous ARP for an existing
/// neighbour entry even inside the 1 s locktime, which is what makes the dual-master re-announce work.
/// </summary>
public sealed class GratuitousArp : IDisposable
{
    private const ushort EthPArp = 0x0806;
    private const int FrameBytes = 60; // minimum Ethernet payload, padded

    private readonly int _fd;
    private readonly int _interfaceIndex;
    private readonly byte[] _mac;
    private readonly byte[] _linkAddress = new byte[20];
    private Ipv4[] _frameAddresses = []; // one fixed frame per VIP, built on first use (at most 20)
    private byte[][] _frames = [];

    public GratuitousArp(int interfaceIndex, byte[] mac)
    {
        _interfaceIndex = interfaceIndex;
        _mac = mac;
        _fd = LinuxNative.Socket(LinuxNative.AfPacket, LinuxNative.SockRaw, BinaryPrimitives.ReverseEndianness((short)EthPArp));
        LinuxNative.ThrowIfFailed(_fd, "socket(AF_PACKET)");
        // sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
        BinaryPrimitives.WriteUInt16LittleEndian(_linkAddress, LinuxNative.AfPacket);
        BinaryPrimitives.WriteUInt16BigEndian(_linkAddress.AsSpan(2), EthPArp);
        BinaryPrimitives.WriteInt32LittleEndian(_linkAddress.AsSpan(4), interfaceIndex);
        BinaryPrimitives.WriteUInt16LittleEndian(_linkAddress.AsSpan(8), 1); // ARPHRD_ETHER
        _linkAddress[11] = 6;
        _linkAddress.AsSpan(12, 6).Fill(0xff);
    }

    public static byte[] BuildFrame(byte[] mac, Ipv4 address)
    {
        var frame = new byte[FrameBytes];
        var span = frame.AsSpan();
        span[..6].Fill(0xff);
        mac.CopyTo(span[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], EthPArp);
        var arp = span[14..];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);          // hardware: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800); // protocol: IPv4
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1);      // request
        mac.CopyTo(arp[8..]);
        address.Write(arp[14..]);
        arp[18..24].Fill(0xff);                                 // target MAC: broadcast, as keepalived sends
        address.Write(arp[24..]);
        return frame;
    }

    public void Send(Ipv4 address)
    {
        var frame = FrameFor(address);

        var sent = LinuxNative.SendTo(_fd, frame, frame.Length, 0, _linkAddress, _linkAddress.Length);
        if (sent < 0)
        {
            LinuxNative.ThrowIfFailed(sent, $"gratuitous ARP for {address} on ifindex {_interfaceIndex}");
        }
    }

    /// <summary>Builds the frame for <paramref name="address"/> and compiles the send path, sending nothing.</summary>
    public void Prepare(Ipv4 address)
    {
        FrameFor(address);
        JitWarmUp.Prepare(typeof(GratuitousArp), nameof(Send));
    }

    private byte[] FrameFor(Ipv4 address)
    {
        for (var i = 0; i < _frameAddresses.Length; i++)
        {
            if (_frameAddresses[i] == address)
            {
                return _frames[i];
            }
        }

        var frame = BuildFrame(_mac, address);
        _frameAddresses = [.. _frameAddresses, address];
        _frames = [.. _frames, frame];
        return frame;
    }

    public void Dispose() => LinuxNative.Close(_fd);
}
