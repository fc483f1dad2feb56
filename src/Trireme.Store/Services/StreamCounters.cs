using System.Diagnostics.Metrics;
using System.Globalization;

namespace Trireme.Store.Services;

/// <summary>
/// Client streams open on one member, by kind. A stream is counted from the moment its handler starts
/// until the handler has finished cleaning up (watchers cancelled, writer stopped), so a count that does
/// not return to its baseline after clients go away is a leak. Exposed as properties (tests read them
/// in-process) and as <c>System.Diagnostics.Metrics</c> instruments on the <c>Trireme.Store</c> meter,
/// tagged with the member id, for an exporter.
/// </summary>
public sealed class StreamCounters : IDisposable
{
    public const string MeterName = "Trireme.Store";

    private readonly Meter _meter = new(MeterName);
    private int _watchStreams;
    private int _keepAliveStreams;

    public StreamCounters(ulong memberId)
    {
        var member = new KeyValuePair<string, object?>("member", memberId.ToString("x16", CultureInfo.InvariantCulture));
        _meter.CreateObservableUpDownCounter("trireme_store_watch_streams", () => new Measurement<int>(WatchStreams, member),
            description: "Open etcdserverpb.Watch/Watch streams.");
        _meter.CreateObservableUpDownCounter("trireme_store_lease_keepalive_streams", () => new Measurement<int>(KeepAliveStreams, member),
            description: "Open etcdserverpb.Lease/LeaseKeepAlive streams.");
    }

    public int WatchStreams => Volatile.Read(ref _watchStreams);

    public int KeepAliveStreams => Volatile.Read(ref _keepAliveStreams);

    internal void WatchStreamOpened() => Interlocked.Increment(ref _watchStreams);

    internal void WatchStreamClosed() => Interlocked.Decrement(ref _watchStreams);

    internal void KeepAliveStreamOpened() => Interlocked.Increment(ref _keepAliveStreams);

    internal void KeepAliveStreamClosed() => Interlocked.Decrement(ref _keepAliveStreams);

    public void Dispose() => _meter.Dispose();
}
