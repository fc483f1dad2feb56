using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Trireme.Vrrp;

/// <summary>What a host-latency sample measures from.</summary>
public enum HostLatencyKind
{
    /// <summary>From a router timer's deadline (Master_Down_Timer, Adver_Timer, GARP) until what it asked
    /// for was done: VIP added, GARPs and adverts sent.</summary>
    Timer,

    /// <summary>From the kernel's receive stamp of an advert until the router had stepped it and the host had
    /// done what the step asked for.</summary>
    Packet,
}

/// <summary>
/// Per-event host latency: the time the host adds between an event and the packets it causes, on top of
/// the protocol's own timers. Measured inside the process (kernel receive stamps, the monotonic clock), so
/// it is far less sensitive to the machine's load than an end-to-end failover time, and shows structure:
/// thread hops and timer-queue waits show up here directly. Exported as a histogram and kept as a bounded
/// sample for the summary logged at stop.
/// </summary>
public sealed class HostLatency
{
    /// <summary>Samples kept per kind for percentiles; adverts every 0.1 s fill this in about 7 minutes,
    /// after which the oldest are overwritten.</summary>
    private const int MaxSamples = 4096;

    private readonly Histogram<double> _histogram;
    private readonly KeyValuePair<string, object?> _instance;
    private readonly double[][] _samples = [new double[MaxSamples], new double[MaxSamples]];
    private readonly long[] _counts = new long[2];
    private readonly object _lock = new();

    public HostLatency(Meter meter, string instance)
    {
        _instance = new KeyValuePair<string, object?>("instance", instance);
        _histogram = meter.CreateHistogram<double>("trireme_vrrp_host_latency_seconds", "s",
            "from a timer's deadline or a packet's arrival until the host had acted on it");
    }

    /// <summary>Records one event and returns its latency in milliseconds.</summary>
    public double Record(HostLatencyKind kind, long fromTimestamp, long toTimestamp)
    {
        var milliseconds = Math.Max(0, toTimestamp - fromTimestamp) * 1000.0 / Stopwatch.Frequency;
        _histogram.Record(milliseconds / 1000, _instance, new KeyValuePair<string, object?>("kind", kind == HostLatencyKind.Timer ? "timer" : "packet"));
        lock (_lock)
        {
            var k = (int)kind;
            _samples[k][_counts[k] % MaxSamples] = milliseconds;
            _counts[k]++;
        }

        return milliseconds;
    }

    /// <summary>Count, median, 99th percentile and maximum (ms) of the kept samples of one kind.</summary>
    public (long Count, double P50, double P99, double Max) Summary(HostLatencyKind kind)
    {
        double[] sorted;
        long count;
        lock (_lock)
        {
            count = _counts[(int)kind];
            sorted = _samples[(int)kind].AsSpan(0, (int)Math.Min(count, MaxSamples)).ToArray();
        }

        if (sorted.Length == 0)
        {
            return (0, 0, 0, 0);
        }

        Array.Sort(sorted);
        return (count, sorted[(sorted.Length - 1) / 2], sorted[(int)Math.Ceiling(sorted.Length * 0.99) - 1], sorted[^1]);
    }
}
