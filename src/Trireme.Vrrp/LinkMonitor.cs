using System.Buffers.Binary;

namespace Trireme.Vrrp;

/// <summary>
/// Follows the interface's state through the kernel's link notifications (a NETLINK_ROUTE socket in the
/// RTMGRP_LINK group), polled by the instance's loop beside the VRRP socket, so FAULT is entered as soon
/// as the link drops rather than at the next sysfs poll. After each batch of notifications the state is
/// read from sysfs operstate (linkwatch updates it before it notifies), which keeps message parsing out
/// and stays right even if notifications were lost to a full socket buffer (ENOBUFS still wakes us).
/// </summary>
internal sealed class LinkMonitor : IDisposable
{
    private const uint RtmgrpLink = 1;
    private const int MaxMessagesPerDrain = 64;

    private readonly string _interfaceName;
    private readonly byte[] _buffer = new byte[8192];

    public LinkMonitor(string interfaceName)
    {
        _interfaceName = interfaceName;
        Descriptor = LinuxNative.Socket(LinuxNative.AfNetlink, LinuxNative.SockRaw, LinuxNative.NetlinkRoute);
        LinuxNative.ThrowIfFailed(Descriptor, "socket(AF_NETLINK) for link events");
        var address = new byte[12]; // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups
        BinaryPrimitives.WriteUInt16LittleEndian(address, LinuxNative.AfNetlink);
        BinaryPrimitives.WriteUInt32LittleEndian(address.AsSpan(8), RtmgrpLink);
        var bound = LinuxNative.Bind(Descriptor, address, address.Length);
        if (bound < 0)
        {
            LinuxNative.Close(Descriptor);
            LinuxNative.ThrowIfFailed(bound, "bind(AF_NETLINK, RTMGRP_LINK)");
        }
    }

    public int Descriptor { get; }

    public bool IsUp => LinuxNative.IsInterfaceUp(_interfaceName);

    /// <summary>Reads what is waiting (without blocking, bounded) and returns the interface's state now.</summary>
    public bool DrainAndRead()
    {
        for (var i = 0; i < MaxMessagesPerDrain; i++)
        {
            if (LinuxNative.Recv(Descriptor, _buffer, _buffer.Length, LinuxNative.MsgDontWait) < 0)
            {
                break; // EAGAIN: drained (or ENOBUFS: some were lost; the sysfs read below covers it)
            }
        }

        return IsUp;
    }

    public void Dispose() => LinuxNative.Close(Descriptor);
}
