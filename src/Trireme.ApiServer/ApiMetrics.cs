using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Trireme.ApiServer;

/// <summary>
/// The API server's metrics under kube-apiserver's names (apiserver_request_total,
/// apiserver_current_inflight_requests, apiserver_longrunning_requests), published as
/// System.Diagnostics.Metrics instruments and rendered for /metrics in Prometheus text format.
/// </summary>
public sealed class ApiMetrics : IDisposable
{
    private readonly Meter _meter = new("Trireme.ApiServer");
    private readonly ConcurrentDictionary<(string Verb, string Resource, int Code), long> _requests = new();
    private readonly ConcurrentDictionary<string, long> _watches = new(StringComparer.Ordinal);
    private readonly Counter<long> _requestCounter;
    private long _inflightReadOnly;
    private long _inflightMutating;
    private long _rejected;
    private InflightLimiter? _readOnlyLimiter;
    private InflightLimiter? _mutatingLimiter;

    public ApiMetrics()
    {
        _requestCounter = _meter.CreateCounter<long>("apiserver_request_total");
        _meter.CreateObservableGauge("apiserver_current_inflight_requests", () => new[]
        {
            new Measurement<long>(Interlocked.Read(ref _inflightReadOnly), new KeyValuePair<string, object?>("request_kind", "readOnly")),
            new Measurement<long>(Interlocked.Read(ref _inflightMutating), new KeyValuePair<string, object?>("request_kind", "mutating")),
        });
    }

    public void Request(string verb, string resource, int code)
    {
        _requests.AddOrUpdate((verb, resource, code), 1, (_, v) => v + 1);
        _requestCounter.Add(1, new("verb", verb), new("resource", resource), new("code", code));
    }

    public ref long Inflight(bool mutating) => ref mutating ? ref _inflightMutating : ref _inflightReadOnly;

    /// <summary>The limiters whose queues /metrics reports.</summary>
    public void Track(InflightLimiter readOnly, InflightLimiter mutating) => (_readOnlyLimiter, _mutatingLimiter) = (readOnly, mutating);

    public void Rejected() => Interlocked.Increment(ref _rejected);

    public void WatchStarted(string resource) => _watches.AddOrUpdate(resource, 1, (_, v) => v + 1);

    public void WatchEnded(string resource) => _watches.AddOrUpdate(resource, 0, (_, v) => v - 1);

    public string Render()
    {
        var text = new StringBuilder();
        text.Append("# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, resource and HTTP response code.\n");
        text.Append("# TYPE apiserver_request_total counter\n");
        foreach (var ((verb, resource, code), count) in _requests.OrderBy(kv => kv.Key))
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_request_total{{code=\"{code}\",resource=\"{resource}\",verb=\"{verb}\"}} {count}\n");
        }

        text.Append("# HELP apiserver_current_inflight_requests Maximal number of currently used inflight request limit of this apiserver per request kind.\n");
        text.Append("# TYPE apiserver_current_inflight_requests gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"apiserver_current_inflight_requests{{request_kind=\"mutating\"}} {Interlocked.Read(ref _inflightMutating)}\n");
        text.Append(CultureInfo.InvariantCulture, $"apiserver_current_inflight_requests{{request_kind=\"readOnly\"}} {Interlocked.Read(ref _inflightReadOnly)}\n");
        text.Append("# HELP apiserver_longrunning_requests Gauge of all active long-running apiserver requests.\n");
        text.Append("# TYPE apiserver_longrunning_requests gauge\n");
        foreach (var (resource, count) in _watches.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_longrunning_requests{{resource=\"{resource}\",verb=\"WATCH\"}} {count}\n");
        }

        text.Append("# HELP apiserver_dropped_requests_total Number of requests rejected with 429 by the max-in-flight filter.\n");
        text.Append("# TYPE apiserver_dropped_requests_total counter\n");
        text.Append(CultureInfo.InvariantCulture, $"apiserver_dropped_requests_total {Interlocked.Read(ref _rejected)}\n");
        RenderQueues(text);
        return text.ToString();
    }

    // Names follow kube-apiserver's API Priority and Fairness metrics, with request_kind in place of
    // priority_level and flow_schema (Trireme has one FIFO queue per kind).
    private void RenderQueues(StringBuilder text)
    {
        if (_readOnlyLimiter is null || _mutatingLimiter is null)
        {
            return;
        }

        var kinds = new[] { ("mutating", _mutatingLimiter), ("readOnly", _readOnlyLimiter) };
        text.Append("# HELP apiserver_flowcontrol_current_inqueue_requests Number of requests currently waiting in the queue of this apiserver per request kind.\n");
        text.Append("# TYPE apiserver_flowcontrol_current_inqueue_requests gauge\n");
        foreach (var (kind, limiter) in kinds)
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_flowcontrol_current_inqueue_requests{{request_kind=\"{kind}\"}} {limiter.Queued}\n");
        }

        text.Append("# HELP apiserver_flowcontrol_request_queue_wait_seconds Time requests that left the queue spent waiting in it (sum and count).\n");
        text.Append("# TYPE apiserver_flowcontrol_request_queue_wait_seconds summary\n");
        foreach (var (kind, limiter) in kinds)
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_flowcontrol_request_queue_wait_seconds_sum{{request_kind=\"{kind}\"}} {limiter.WaitTotal.TotalSeconds:0.######}\n");
            text.Append(CultureInfo.InvariantCulture, $"apiserver_flowcontrol_request_queue_wait_seconds_count{{request_kind=\"{kind}\"}} {limiter.QueuedTotal}\n");
        }

        text.Append("# HELP apiserver_flowcontrol_rejected_requests_total Requests answered 429 by the queue, by reason (queue-full or time-out).\n");
        text.Append("# TYPE apiserver_flowcontrol_rejected_requests_total counter\n");
        foreach (var (kind, limiter) in kinds)
        {
            text.Append(CultureInfo.InvariantCulture, $"apiserver_flowcontrol_rejected_requests_total{{reason=\"queue-full\",request_kind=\"{kind}\"}} {limiter.RejectedQueueFull}\n");
            text.Append(CultureInfo.InvariantCulture, $"apiserver_flowcontrol_rejected_requests_total{{reason=\"time-out\",request_kind=\"{kind}\"}} {limiter.RejectedTimedOut}\n");
        }
    }

    public void Dispose() => _meter.Dispose();
}
