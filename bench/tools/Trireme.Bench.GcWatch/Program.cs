// gcwatch PID SECONDS [TOP]: every GC of process PID during SECONDS, then a summary.
// One line per GC: when (s after attach), generation, pause (suspend to restart, ms), bytes promoted out of
// gen0 and gen1, gen2 and large-object heap sizes after it. Summary: pauses by generation, time in each
// phase (suspending threads, collecting, restarting), bytes promoted, and the TOP types by bytes allocated
// (sampled by the runtime every ~100 KB: AllocationTick). Read-only: it never changes the target.
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

if (args.Length < 2 || !int.TryParse(args[0], out var pid) || !int.TryParse(args[1], out var seconds) || seconds <= 0)
{
    Console.Error.WriteLine("usage: gcwatch PID SECONDS [TOP]");
    return 2;
}

var top = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 15;
var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC);
using var session = new DiagnosticsClient(pid).StartEventPipeSession([provider], requestRundown: false);
using var source = new EventPipeEventSource(session.EventStream);
var watch = new GcWatch();
watch.Attach(source);
var processing = Task.Run(source.Process);
await Task.Delay(TimeSpan.FromSeconds(seconds));
session.Stop();
await processing;
watch.Print(top);
return 0;

internal sealed class GcWatch
{
    private readonly List<string> _lines = [];
    private readonly List<(int Generation, double PauseMs)> _pauses = [];
    private readonly Dictionary<string, long> _allocated = new(StringComparer.Ordinal);
    private double _suspendStart = -1;
    private double _suspendEnd;
    private double _gcStart;
    private double _gcEnd;
    private int _generation = -1;
    private double _suspendMs;
    private double _collectMs;
    private double _restartMs;
    private long _promoted0;
    private long _promoted1;
    private long _lastPromoted0;
    private long _lastPromoted1;
    private long _gen2Bytes;
    private long _lohBytes;

    public void Attach(EventPipeEventSource source)
    {
        source.Clr.GCSuspendEEStart += e => _suspendStart = e.TimeStampRelativeMSec;
        source.Clr.GCSuspendEEStop += e =>
        {
            _suspendEnd = e.TimeStampRelativeMSec;
            _suspendMs += _suspendStart >= 0 ? _suspendEnd - _suspendStart : 0;
        };
        source.Clr.GCStart += e => (_generation, _gcStart) = (e.Depth, e.TimeStampRelativeMSec);
        source.Clr.GCStop += e =>
        {
            _gcEnd = e.TimeStampRelativeMSec;
            _collectMs += _gcStart > 0 ? _gcEnd - _gcStart : 0;
        };
        source.Clr.GCHeapStats += e =>
        {
            (_lastPromoted0, _lastPromoted1) = ((long)e.TotalPromotedSize0, (long)e.TotalPromotedSize1);
            _promoted0 += _lastPromoted0;
            _promoted1 += _lastPromoted1;
            (_gen2Bytes, _lohBytes) = ((long)e.GenerationSize2, (long)e.GenerationSize3);
        };
        source.Clr.GCRestartEEStart += e => _gcEnd = e.TimeStampRelativeMSec;
        source.Clr.GCRestartEEStop += e =>
        {
            if (_suspendStart < 0)
            {
                return; // attached in the middle of a collection
            }

            var pause = e.TimeStampRelativeMSec - _suspendStart;
            _restartMs += e.TimeStampRelativeMSec - _gcEnd;
            _pauses.Add((_generation, pause));
            _lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{_suspendStart / 1000:0.000}s gen{_generation} pause {pause:0.0} ms, promoted from gen0 {Mb(_lastPromoted0)} MB, from gen1 {Mb(_lastPromoted1)} MB; gen2 {Mb(_gen2Bytes)} MB, loh {Mb(_lohBytes)} MB"));
            _suspendStart = -1;
        };
        source.Clr.GCAllocationTick += e =>
            _allocated[e.TypeName] = _allocated.GetValueOrDefault(e.TypeName) + e.AllocationAmount64;
    }

    public void Print(int top)
    {
        foreach (var line in _lines)
        {
            Console.WriteLine(line);
        }

        var byGeneration = string.Join(", ", _pauses.GroupBy(p => p.Generation).OrderBy(g => g.Key).Select(g =>
            string.Create(CultureInfo.InvariantCulture, $"gen{g.Key} {g.Count()} totalling {g.Sum(p => p.PauseMs):0.0} ms (max {g.Max(p => p.PauseMs):0.0})")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pauses: {_pauses.Count}, {_pauses.Sum(p => p.PauseMs):0.0} ms in all, max {(_pauses.Count == 0 ? 0 : _pauses.Max(p => p.PauseMs)):0.0} ms; {byGeneration}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"phases: suspending {_suspendMs:0.0} ms, collecting {_collectMs:0.0} ms, restarting {_restartMs:0.0} ms"));
        Console.WriteLine($"promoted: out of gen0 {Mb(_promoted0)} MB, out of gen1 {Mb(_promoted1)} MB");
        foreach (var (type, bytes) in _allocated.OrderByDescending(a => a.Value).Take(top))
        {
            Console.WriteLine($"allocated {Mb(bytes)} MB {type}");
        }
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture);
}
