using System.Buffers.Binary;
using System.Diagnostics;

namespace Trireme.Vrrp;

/// <summary>
/// The host loop's only blocking call, in the style of keepalived's scheduler: ppoll on the transport's
/// socket and a wake-up eventfd, with a nanosecond timeout that ends exactly at the router's next deadline.
/// A packet or a deadline is acted on by the thread that was waiting for it — no thread-pool hop, no
/// timer queue in between. Other threads (checks, the interface monitor, cancellation) only post and
/// call <see cref="Wake"/>.
/// </summary>
internal sealed class LoopPoller : IDisposable
{
    private const int PollFdBytes = 8; // struct pollfd { int fd; short events; short revents; }
    private static readonly byte[] One = [1, 0, 0, 0, 0, 0, 0, 0];

    private readonly int _eventFd;
    private readonly byte[] _fds = new byte[2 * PollFdBytes];
    private readonly byte[] _timeout = new byte[16];
    private readonly byte[] _drain = new byte[8];
    private readonly object _gate = new();
    private bool _disposed;

    public LoopPoller(int socketFd)
    {
        _eventFd = LinuxNative.EventFd(0, LinuxNative.EfdNonBlock | LinuxNative.EfdCloExec);
        LinuxNative.ThrowIfFailed(_eventFd, "eventfd");
        BinaryPrimitives.WriteInt32LittleEndian(_fds, socketFd);
        BinaryPrimitives.WriteInt16LittleEndian(_fds.AsSpan(4), LinuxNative.PollIn);
        BinaryPrimitives.WriteInt32LittleEndian(_fds.AsSpan(PollFdBytes), _eventFd);
        BinaryPrimitives.WriteInt16LittleEndian(_fds.AsSpan(PollFdBytes + 4), LinuxNative.PollIn);
    }

    /// <summary>Any thread: makes the loop's current or next <see cref="Wait"/> return at once.</summary>
    public void Wake()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                LinuxNative.Write(_eventFd, One, One.Length);
            }
        }
    }

    /// <summary>Loop thread: blocks until the socket is readable, <see cref="Wake"/> is called, or the
    /// Stopwatch reaches <paramref name="untilTimestamp"/>.</summary>
    public void Wait(long untilTimestamp)
    {
        var remaining = untilTimestamp - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            return;
        }

        var nanoseconds = (long)(remaining * (1_000_000_000.0 / Stopwatch.Frequency));
        BinaryPrimitives.WriteInt64LittleEndian(_timeout, nanoseconds / 1_000_000_000);
        BinaryPrimitives.WriteInt64LittleEndian(_timeout.AsSpan(8), nanoseconds % 1_000_000_000);
        var n = LinuxNative.PPoll(_fds, 2, _timeout, 0);
        if (n < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != LinuxNative.Eintr)
        {
            LinuxNative.ThrowIfFailed(n, "ppoll");
        }

        if (n > 0 && (BinaryPrimitives.ReadInt16LittleEndian(_fds.AsSpan(PollFdBytes + 6)) & LinuxNative.PollIn) != 0)
        {
            LinuxNative.Read(_eventFd, _drain, _drain.Length); // non-blocking; resets the counter
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            LinuxNative.Close(_eventFd);
        }
    }
}
