using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Trireme.Balancer.Runtime;

/// <summary>Linux sockaddr_in / sockaddr_in6 in and out of bytes, so the epoll engine can connect and
/// accept on raw descriptors without an <see cref="EndPoint"/> per connection.</summary>
internal static class SockAddr
{
    /// <summary>The sockaddr bytes for <paramref name="address"/> (16 for IPv4, 28 for IPv6).</summary>
    public static byte[] Encode(IPEndPoint address)
    {
        var v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        var bytes = new byte[v6 ? 28 : 16];
        // sa_family is in host order (little-endian on the only architecture the engine runs on);
        // the port is in network order.
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(v6 ? EpollNative.AfInet6 : EpollNative.AfInet));
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)address.Port);
        if (v6)
        {
            address.Address.TryWriteBytes(bytes.AsSpan(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), (uint)address.Address.ScopeId);
        }
        else
        {
            address.Address.TryWriteBytes(bytes.AsSpan(4, 4), out _);
        }

        return bytes;
    }

    /// <summary>The stick/source-hash key of a peer address: its IPv6 form (IPv4 mapped as
    /// ::ffff:a.b.c.d) read as a big-endian number — the same key <see cref="BackendRuntime.ClientKey"/>
    /// gives for an <see cref="IPEndPoint"/>.</summary>
    public static UInt128 ClientKey(ReadOnlySpan<byte> sockaddr)
    {
        var family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr);
        if (family == EpollNative.AfInet6)
        {
            return BinaryPrimitives.ReadUInt128BigEndian(sockaddr.Slice(8, 16));
        }

        if (family == EpollNative.AfInet)
        {
            return ((UInt128)0xffff << 32) | BinaryPrimitives.ReadUInt32BigEndian(sockaddr.Slice(4, 4));
        }

        return 0;
    }
}
