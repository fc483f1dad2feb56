using System.Buffers.Binary;
using System.Diagnostics;

namespace Trireme.Vrrp;

/// <summary>
/// The host loop's only blocking call, in the style of keepalived's scheduler: ppoll on the loop's
/// descriptors (the transport's socket, the link monitor's) and a wake-up eventfd, with a nanosecond
/// timeout that ends exactly at the router's next deadline.
/// A packet or a deadline is acted on by the thread that was waiting for it — no thread-pool hop, no
/// timer queue in between. Other threads (check loops, cancellation) only post and
/// call <see cref="Wake"/>.
/// </summary>
internal sealed class LoopPoller : IDisposable
{
    private const int PollFdBytes = 8; // struct pollfd { int fd; short events; short revents; }
    private static readonly byte[] One = [1, 0, 0, 0, 0, 0, 0, 0];

    private readonly int _eventFd;
    private readonly int _count;
    private readonly byte[] _fds;
    private readonly byte[] _timeout = new byte[16];
    private readonly byte[] _drain = new byte[8];
    private readonly object _gate = new();
    private bool _disposed;

    /// <param name="descriptors">Polled for readability; <see cref="IsReadable"/> takes their index here.</param>
    public LoopPoller(params int[] descriptors)
    {
        _eventFd = LinuxNative.EventFd(0, LinuxNative.EfdNonBlock | LinuxNative.EfdCloExec);
        LinuxNative.ThrowIfFailed(_eventFd, "eventfd");
        _count = descriptors.Length;
        _fds = new byte[(_count + 1) * PollFdBytes];
        for (var i = 0; i <= _count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_fds.AsSpan(i * PollFdBytes), i < _count ? descriptors[i] : _eventFd);
            BinaryPrimitives.WriteInt16LittleEndian(_fds.AsSpan((i * PollFdBytes) + 4), LinuxNative.PollIn);
        }
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
        for (var i = 0; i <= _count; i++)
        {
            _fds[(i * PollFdBytes) + 6] = 0; // revents
            _fds[(i * PollFdBytes) + 7] = 0;
        }

        var remaining = untilTimestamp - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            return;
        }

        var nanoseconds = (long)(remaining * (1_000_000_000.0 / Stopwatch.Frequency));
        BinaryPrimitives.WriteInt64LittleEndian(_timeout, nanoseconds / 1_000_000_000);
        BinaryPrimitives.WriteInt64LittleEndian(_timeout.AsSpan(8), nanoseconds % 1_000_000_000);
        var n = LinuxNative.PPoll(_fds, (nuint)(_count + 1), _timeout, 0);
        if (n < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != LinuxNative.Eintr)
        {
            LinuxNative.ThrowIfFailed(n, "ppoll");
        }

        if (n > 0 && IsReadable(_count))
        {
            LinuxNative.Read(_eventFd, _drain, _drain.Length); // non-blocking; resets the counter
        }
    }

    /// <summary>After <see cref="Wait"/>: whether descriptor <paramref name="index"/> reported input or an error.</summary>
    public bool IsReadable(int index) => BinaryPrimitives.ReadInt16LittleEndian(_fds.AsSpan((index * PollFdBytes) + 6)) != 0;

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            LinuxNative.Close(_eventFd);
        }
    }
}
