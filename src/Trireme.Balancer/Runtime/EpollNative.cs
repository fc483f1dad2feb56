using System.Runtime.InteropServices;

namespace Trireme.Balancer.Runtime;

/// <summary>The few Linux calls the epoll forwarding engine makes. x86-64 only (its epoll_event is
/// packed to 12 bytes); elsewhere the balancer uses the portable Socket engine.</summary>
internal static partial class EpollNative
{
    public const int EpollIn = 0x001;
    public const int EpollOut = 0x004;
    public const int EpollErr = 0x008;
    public const int EpollHup = 0x010;
    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;
    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int ShutWr = 1;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int EInProgress = 115;
    public const int EMFile = 24;
    public const int ENFile = 23;
    public const int ENoBufs = 105;
    public const int ENoMem = 12;
    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int SockStream = 1;
    public const int SockNonBlock = 0x800;
    public const int SockCloExec = 0x80000;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;

    /// <summary>Large enough for sockaddr_in6 (28 bytes).</summary>
    public const int SockAddrBytes = 28;

    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", SetLastError = true, EntryPoint = "epoll_create1")]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "epoll_ctl")]
    public static partial int EpollCtl(int epfd, int op, int fd, ref EpollEvent ev);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "epoll_wait")]
    public static partial int EpollWait(int epfd, [Out] EpollEvent[] events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "recv")]
    public static partial nint Recv(int fd, ref byte buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "send")]
    public static partial nint Send(int fd, ref byte buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "shutdown")]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "eventfd")]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "write")]
    public static partial nint Write(int fd, ref ulong value, nint length);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "read")]
    public static partial nint Read(int fd, ref ulong value, nint length);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "accept4")]
    public static partial int Accept4(int fd, ref byte address, ref int addressLength, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "socket")]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "connect")]
    public static partial int Connect(int fd, ref byte address, int addressLength);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "setsockopt")]
    public static partial int SetSockOpt(int fd, int level, int name, ref int value, int valueLength);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "close")]
    public static partial int Close(int fd);
}
