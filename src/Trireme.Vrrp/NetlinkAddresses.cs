using System.Buffers.Binary;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp;

/// <summary>
/// Adds and removes the VIP with RTM_NEWADDR / RTM_DELADDR on a NETLINK_ROUTE socket, as keepalived does,
/// instead of running `ip`. Each request asks for an ACK and waits for it (with a receive timeout), so a
/// failure is reported rather than assumed away. "Already there" and "not there" count as success.
/// </summary>
public sealed class NetlinkAddresses : IDisposable
{
    private const ushort RtmNewAddr = 20;
    private const ushort RtmDelAddr = 21;
    private const ushort NlmsgError = 2;
    private const ushort NlmFRequest = 0x1;
    private const ushort NlmFAck = 0x4;
    private const ushort NlmFExcl = 0x200;
    private const ushort NlmFCreate = 0x400;
    private const ushort IfaAddress = 1;
    private const ushort IfaLocal = 2;
    private const byte AfInet = 2;
    private const int Eexist = 17;
    private const int Eaddrnotavail = 99;

    private readonly int _fd;
    private uint _sequence;

    public NetlinkAddresses()
    {
        _fd = LinuxNative.Socket(LinuxNative.AfNetlink, LinuxNative.SockRaw, LinuxNative.NetlinkRoute);
        LinuxNative.ThrowIfFailed(_fd, "socket(AF_NETLINK)");
        var address = new byte[12]; // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
        BinaryPrimitives.WriteUInt16LittleEndian(address, LinuxNative.AfNetlink);
        LinuxNative.ThrowIfFailed(LinuxNative.Bind(_fd, address, address.Length), "bind(AF_NETLINK)");
        var timeout = new byte[16]; // struct timeval { 1 s, 0 us }: never hang on a lost ACK
        BinaryPrimitives.WriteInt64LittleEndian(timeout, 1);
        LinuxNative.ThrowIfFailed(LinuxNative.SetSockOpt(_fd, LinuxNative.SolSocket, LinuxNative.SoRcvTimeo, timeout, timeout.Length), "SO_RCVTIMEO");
    }

    /// <summary>Compiles the request path (Remove's is exercised at start by the stale-VIP sweep).</summary>
    public void Prepare() => JitWarmUp.Prepare(typeof(NetlinkAddresses), nameof(Add), nameof(Remove), nameof(Request));

    public void Add(int interfaceIndex, Ipv4 address, int prefixLength) =>
        Request(RtmNewAddr, NlmFCreate | NlmFExcl, interfaceIndex, address, prefixLength, Eexist);

    public void Remove(int interfaceIndex, Ipv4 address, int prefixLength) =>
        Request(RtmDelAddr, 0, interfaceIndex, address, prefixLength, Eaddrnotavail);

    private void Request(ushort type, ushort flags, int interfaceIndex, Ipv4 address, int prefixLength, int benignErrno)
    {
        // nlmsghdr(16) + ifaddrmsg(8) + IFA_LOCAL rtattr(8) + IFA_ADDRESS rtattr(8)
        var message = new byte[40];
        var sequence = ++_sequence;
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(0), (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), (ushort)(NlmFRequest | NlmFAck | flags));
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        message[16] = AfInet;
        message[17] = (byte)prefixLength;
        message[19] = 0; // RT_SCOPE_UNIVERSE
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(20), interfaceIndex);
        WriteAddressAttribute(message.AsSpan(24), IfaLocal, address);
        WriteAddressAttribute(message.AsSpan(32), IfaAddress, address);

        var kernel = new byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(kernel, LinuxNative.AfNetlink);
        LinuxNative.ThrowIfFailed(LinuxNative.SendTo(_fd, message, message.Length, 0, kernel, kernel.Length), "netlink send");
        WaitForAck(sequence, benignErrno, type == RtmNewAddr ? "RTM_NEWADDR" : "RTM_DELADDR", address);
    }

    private void WaitForAck(uint sequence, int benignErrno, string what, Ipv4 address)
    {
        var buffer = new byte[8192];
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var n = (int)LinuxNative.Recv(_fd, buffer, buffer.Length, 0);
            LinuxNative.ThrowIfFailed(n, $"{what} {address}: netlink recv");
            for (var offset = 0; offset + 16 <= n;)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset));
                var type = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 4));
                var seq = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset + 8));
                if (type == NlmsgError && seq == sequence && offset + 20 <= n)
                {
                    var errno = -BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(offset + 16));
                    if (errno != 0 && errno != benignErrno)
                    {
                        throw new IOException($"{what} {address}: errno {errno}");
                    }

                    return;
                }

                if (length < 16)
                {
                    break;
                }

                offset += (length + 3) & ~3;
            }
        }

        throw new IOException($"{what} {address}: no netlink ACK");
    }

    private static void WriteAddressAttribute(Span<byte> span, ushort type, Ipv4 address)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(span, 8);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        address.Write(span[4..]);
    }

    public void Dispose() => LinuxNative.Close(_fd);
}
