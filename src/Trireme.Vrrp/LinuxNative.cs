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

    [DllImport("libc", SetLastError = true, EntryPoint = "setsockopt")]
    public static extern int SetSockOpt(int fd, int level, int option, byte[] value, int length);

    [DllImport("libc", SetLastError = true, EntryPoint = "ioctl")]
    public static extern int Ioctl(int fd, nuint request, byte[] argument);

    [DllImport("libc", SetLastError = true, EntryPoint = "close")]
    public static extern int Close(int fd);

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
