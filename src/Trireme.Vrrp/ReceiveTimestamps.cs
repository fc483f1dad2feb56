using System.Buffers.Binary;
using System.Diagnostics;

namespace Trireme.Vrrp;

/// <summary>
/// When a datagram really arrived, as opposed to when this process got round to reading it: the kernel
/// stamps every received packet (SIOCGSTAMPNS), and the difference is the host's own latency — run-queue
/// waits and thread hops — which is what failover loses besides the protocol's timers.
/// </summary>
internal sealed class ReceiveTimestamps(int fd)
{
    /// <summary>A stamp further in the past than this is not the packet just read (the clock was stepped).</summary>
    private static readonly long MaxPlausibleAgeNanoseconds = 10L * 1_000_000_000;

    private readonly byte[] _timespec = new byte[16];

    /// <summary>The first SIOCGSTAMPNS switches stamping on for the socket; its own answer means nothing.</summary>
    public void Enable() => LinuxNative.Ioctl(fd, LinuxNative.SiocGStampNs, _timespec);

    /// <summary>The arrival of the datagram last read from the socket, as a <see cref="Stopwatch"/> timestamp,
    /// or 0 when the kernel has none.</summary>
    public long LastArrival()
    {
        if (LinuxNative.Ioctl(fd, LinuxNative.SiocGStampNs, _timespec) != 0)
        {
            return 0;
        }

        var stampNanoseconds = (BinaryPrimitives.ReadInt64LittleEndian(_timespec) * 1_000_000_000)
            + BinaryPrimitives.ReadInt64LittleEndian(_timespec.AsSpan(8));
        var nowStopwatch = Stopwatch.GetTimestamp();
        var ageNanoseconds = ((DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100) - stampNanoseconds;
        if (ageNanoseconds < 0 || ageNanoseconds > MaxPlausibleAgeNanoseconds)
        {
            return ageNanoseconds < 0 && ageNanoseconds > -1_000_000 ? nowStopwatch : 0; // sub-ms clock skew: now
        }

        return nowStopwatch - (long)(ageNanoseconds * (double)Stopwatch.Frequency / 1_000_000_000);
    }
}
