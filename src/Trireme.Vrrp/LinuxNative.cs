using System.Runtime.InteropServices;

namespace Trireme.Vrrp;

/// <summary>
/// The few libc calls .NET's Socket does not cover: AF_NETLINK (VIP add/remove) and AF_PACKET (gratuitous
/// ARP). Buffers are managed byte arrays (blittable, pinned for the call), so no unsafe code is needed.
/// </summary>
internal static class LinuxNative
{
    public const int AfInet = 2;
    public const int AfNetlink = 16;
    public const int AfPacket = 17;
    public const int SockRaw = 3;
    public const int NetlinkRoute = 0;
    public const int SolSocket = 1;
    public const int SoRcvTimeo = 20;
    public const int SoBindToDevice = 25;

    /// <summary>SIOCGSTAMPNS: the kernel's receive time (CLOCK_REALTIME) of the last datagram read.</summary>
    public const nuint SiocGStampNs = 0x8907;

    [DllImport("libc", SetLastError = true, EntryPoint = "socket")]
    public static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", SetLastError = true, EntryPoint = "bind")]
    public static extern int Bind(int fd, byte[] address, int addressLength);

    [DllImport("libc", SetLastError = true, EntryPoint = "sendto")]
    public static extern nint SendTo(int fd, byte[] buffer, nint length, int flags, byte[] address, int addressLength);

    [DllImport("libc", SetLastError = true, EntryPoint = "recv")]
    public static extern nint Recv(int fd, byte[] buffer, nint length, int flags);

    public const int MsgDontWait = 0x40;

    [DllImport("libc", SetLastError = true, EntryPoint = "sendto")]
    public static extern nint SendTo(int fd, ref byte buffer, nint length, int flags, byte[] address, int addressLength);

    [DllImport("libc", SetLastError = true, EntryPoint = "recvfrom")]
    public static extern nint RecvFrom(int fd, ref byte buffer, nint length, int flags, byte[] address, ref int addressLength);

    [DllImport("libc", SetLastError = true, EntryPoint = "setsockopt")]
    public static extern int SetSockOpt(int fd, int level, int option, byte[] value, int length);

    [DllImport("libc", SetLastError = true, EntryPoint = "ioctl")]
    public static extern int Ioctl(int fd, nuint request, byte[] argument);

    public const short PollIn = 0x1;
    public const int EfdNonBlock = 0x800;
    public const int EfdCloExec = 0x80000;
    public const int Eintr = 4;

    /// <summary>ppoll(2): <paramref name="fds"/> holds struct pollfd { int fd; short events; short revents; }
    /// entries, <paramref name="timeout"/> a struct timespec.</summary>
    [DllImport("libc", SetLastError = true, EntryPoint = "ppoll")]
    public static extern int PPoll(byte[] fds, nuint count, byte[] timeout, nint signalMask);

    [DllImport("libc", SetLastError = true, EntryPoint = "eventfd")]
    public static extern int EventFd(uint initialValue, int flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "read")]
    public static extern nint Read(int fd, byte[] buffer, nint count);

    [DllImport("libc", SetLastError = true, EntryPoint = "write")]
    public static extern nint Write(int fd, byte[] buffer, nint count);

    [DllImport("libc", SetLastError = true, EntryPoint = "close")]
    public static extern int Close(int fd);

    /// <summary>
    /// Calls the send paths once on an invalid descriptor (EBADF, no effect) so that their marshalling stubs
    /// are generated at startup rather than during the first takeover.
    /// </summary>
    public static void PrepareStubs()
    {
        var scratch = new byte[16];
        SendTo(-1, scratch, 0, 0, scratch, scratch.Length);
        SendTo(-1, ref scratch[0], 0, 0, scratch, scratch.Length);
    }

    /// <summary>struct sockaddr_in for an IPv4 address and port, as sendto wants it.</summary>
    public static byte[] SocketAddress(Trireme.Vrrp.Core.Ipv4 address, int port)
    {
        var sockaddr = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, AfInet);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(sockaddr.AsSpan(2), (ushort)port);
        address.Write(sockaddr.AsSpan(4));
        return sockaddr;
    }

    public static void ThrowIfFailed(long result, string what)
    {
        if (result < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{what} failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");
        }
    }

    /// <summary>Reads the interface's index and MAC from sysfs (no ioctl needed).</summary>
    public static (int Index, byte[] Mac) ReadInterface(string name)
    {
        var directory = Path.Combine("/sys/class/net", name);
        if (!Directory.Exists(directory))
        {
            throw new IOException($"interface {name} does not exist");
        }

        var index = int.Parse(File.ReadAllText(Path.Combine(directory, "ifindex")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var mac = File.ReadAllText(Path.Combine(directory, "address")).Trim().Split(':')
            .Select(h => Convert.ToByte(h, 16)).ToArray();
        return (index, mac);
    }

    /// <summary>keepalived treats "up" and "unknown" (links without carrier reporting) as usable.</summary>
    public static bool IsInterfaceUp(string name)
    {
        try
        {
            var state = File.ReadAllText(Path.Combine("/sys/class/net", name, "operstate")).Trim();
            return state is "up" or "unknown";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
