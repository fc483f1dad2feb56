// Hollow-node load: N simulated kubelets against one API server, like kubemark's hollow nodes but
// without the pod machinery. Each node creates its Node and its Lease in kube-node-lease once, then
// every period (kubelet's default 10 s) renews the Lease (PUT with the last resourceVersion it saw; on
// 409 Conflict it re-GETs and retries, as kubelet's lease controller does) and patches its Node status
// (strategic-merge patch of conditions[Ready].lastHeartbeatTime). Node i's renewals start at offset
// i*period/N and its status patches half a slot later, so the load is spread evenly over the period.
// The steady phase is a --warmup (default 20 s, unmeasured: JIT tiering and connection set-up) then
// the measured --duration; ops not yet due then are not started, in-flight ones get a bounded drain.
// "MARK measure-start|measure-end requests=K" lines let run.sh read each process's CPU over exactly
// the measured window. Reported: per-kind ops/s, p50/p99/max latency, errors, and the schedule lag (how
// late each op started relative to its slot; a node whose previous op overran its period lags).
// Usage: Trireme.Hollow.Bench --server URL --pki DIR --nodes N [--duration 60s] [--warmup 20s] [--period 10s]
//        [--setup-concurrency 32] [--prefix hollow]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

var opts = new Dictionary<string, string>(StringComparer.Ordinal);
for (var a = 0; a + 1 < args.Length; a += 2)
{
    opts[args[a].TrimStart('-')] = args[a + 1];
}

string Opt(string name, string fallback) => opts.TryGetValue(name, out var v) ? v : fallback;
static TimeSpan ParseSpan(string text) => text[^1] switch
{
    's' => TimeSpan.FromSeconds(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
    'm' => TimeSpan.FromMinutes(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
    _ => TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture)),
};

var server = Opt("server", "");
var pki = Opt("pki", "");
var nodes = int.Parse(Opt("nodes", "100"), CultureInfo.InvariantCulture);
var duration = ParseSpan(Opt("duration", "60s"));
// Before the measured window the same load runs unmeasured: JIT tiering, connection and cache
// warm-up are startup costs, not the steady per-request cost the target is about.
var warmup = ParseSpan(Opt("warmup", "20s"));
var period = ParseSpan(Opt("period", "10s"));
var setupConcurrency = int.Parse(Opt("setup-concurrency", "32"), CultureInfo.InvariantCulture);
var prefix = Opt("prefix", "hollow");
// Bounds: the load must stop by itself even if the server hangs.
var requestTimeout = TimeSpan.FromSeconds(30);
var drainTimeout = TimeSpan.FromSeconds(30);
const int MaxConflictRetries = 5;
if (server.Length == 0 || pki.Length == 0 || nodes is < 1 or > 100_000 || duration > TimeSpan.FromMinutes(30) || warmup > TimeSpan.FromMinutes(10))
{
    Console.Error.WriteLine("usage: --server URL --pki DIR --nodes 1..100000 [--duration <=30m] [--warmup <=10m] [--period 10s]");
    return 2;
}

// One HTTP/2 client for all nodes (a real kubelet has its own connection; here streams share a few
// TLS connections, which is what lets one process drive thousands of nodes on 2 cores).
var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true; // loopback bench, self-signed CA
handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key"))];
using var http = new HttpClient(handler)
{
    BaseAddress = new Uri(server), DefaultRequestVersion = HttpVersion.Version20, Timeout = requestTimeout,
};

// Wait for readiness (bounded): the script starts us right after the server prints its URL.
var ready = Stopwatch.StartNew();
while (true)
{
    try
    {
        using var r = await http.GetAsync("/readyz");
        if (r.IsSuccessStatusCode)
        {
            break;
        }
    }
    catch (HttpRequestException)
    {
    }

    if (ready.Elapsed > TimeSpan.FromSeconds(120))
    {
        Console.Error.WriteLine("API server not ready within 120 s");
        return 1;
    }

    await Task.Delay(500);
}

var stats = new ConcurrentDictionary<string, Kind>(StringComparer.Ordinal);
var warmupStats = new ConcurrentDictionary<string, Kind>(StringComparer.Ordinal);
var measureStartTicks = long.MaxValue; // set when the steady phase is scheduled
var opsStarted = 0L;
Kind Stat(string name) => (Stopwatch.GetTimestamp() < Volatile.Read(ref measureStartTicks) && !name.StartsWith("create", StringComparison.Ordinal)
    ? warmupStats : stats).GetOrAdd(name, n => new Kind(n));
static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
static string NowMicro() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
static StringContent Json(string text, string type = "application/json") => new(text, Encoding.UTF8, new MediaTypeHeaderValue(type));
string NodeName(int i) => $"{prefix}-{i:D5}";
string LeaseBody(int i, string? resourceVersion) =>
    "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"" + NodeName(i) + "\",\"namespace\":\"kube-node-lease\""
    + (resourceVersion is null ? "" : ",\"resourceVersion\":\"" + resourceVersion + "\"")
    + "},\"spec\":{\"holderIdentity\":\"" + NodeName(i) + "\",\"leaseDurationSeconds\":40,\"renewTime\":\"" + NowMicro() + "\"}}";
string LeasePath(int i) => "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + NodeName(i);

// Times one request; returns the body on success, null on failure (counted under the kind's errors).
async Task<(HttpStatusCode Code, string? Body)> Timed(string kind, Func<Task<HttpResponseMessage>> send, bool conflictIsError = true)
{
    var k = Stat(kind);
    Interlocked.Increment(ref opsStarted);
    var sw = Stopwatch.StartNew();
    try
    {
        using var response = await send();
        var body = await response.Content.ReadAsStringAsync();
        var ms = sw.Elapsed.TotalMilliseconds;
        if (response.IsSuccessStatusCode)
        {
            k.Ok(ms);
            return (response.StatusCode, body);
        }

        if (response.StatusCode == HttpStatusCode.Conflict && !conflictIsError)
        {
            k.Conflict(ms);
            return (response.StatusCode, null);
        }

        k.Error(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), ms);
        return (response.StatusCode, null);
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
    {
        k.Error(e.GetType().Name, sw.Elapsed.TotalMilliseconds);
        return (0, null);
    }
}

static string? ResourceVersion(string? body)
{
    if (body is null)
    {
        return null;
    }

    using var doc = JsonDocument.Parse(body);
    return doc.RootElement.TryGetProperty("metadata", out var m) && m.TryGetProperty("resourceVersion", out var rv) ? rv.GetString() : null;
}

// Setup: every node creates its Node and Lease once (bounded concurrency, like a kubelet fleet joining).
var leaseVersions = new string?[nodes];
var setup = Stopwatch.StartNew();
await Parallel.ForEachAsync(Enumerable.Range(0, nodes), new ParallelOptions { MaxDegreeOfParallelism = setupConcurrency }, async (i, _) =>
{
    var t = Now();
    var node = "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" + NodeName(i) + "\",\"labels\":{\"kubernetes.io/hostname\":\"" + NodeName(i)
        + "\",\"trireme.dev/hollow\":\"true\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"hollow kubelet is posting ready status\",\"lastHeartbeatTime\":\""
        + t + "\",\"lastTransitionTime\":\"" + t + "\"}]}}";
    await Timed("create node", () => http.PostAsync("/api/v1/nodes", Json(node)));
    var (_, lease) = await Timed("create lease", () => http.PostAsync("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", Json(LeaseBody(i, null))));
    leaseVersions[i] = ResourceVersion(lease);
});
var setupSeconds = setup.Elapsed.TotalSeconds;

// Steady phase.
var lags = new ConcurrentBag<double>();
var missedSlots = 0L;
using var stop = new CancellationTokenSource();
var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency; // one second to spin up the node loops
Volatile.Write(ref measureStartTicks, start + (long)(warmup.TotalSeconds * Stopwatch.Frequency));
var endTicks = measureStartTicks + (long)(duration.TotalSeconds * Stopwatch.Frequency);
var periodTicks = (long)(period.TotalSeconds * Stopwatch.Frequency);

async Task RenewLease(int i)
{
    for (var attempt = 0; attempt <= MaxConflictRetries; attempt++)
    {
        var rv = leaseVersions[i];
        if (rv is null)
        {
            var (_, got) = await Timed("get lease (after 409)", () => http.GetAsync(LeasePath(i)));
            rv = leaseVersions[i] = ResourceVersion(got);
            if (rv is null)
            {
                return;
            }
        }

        var (code, body) = await Timed("renew lease (PUT)", () => http.PutAsync(LeasePath(i), Json(LeaseBody(i, rv))), conflictIsError: false);
        if (code != HttpStatusCode.Conflict)
        {
            leaseVersions[i] = body is null ? null : ResourceVersion(body);
            return;
        }

        leaseVersions[i] = null; // stale: re-GET and retry
    }
}

Task PatchStatus(int i) => Timed("patch node status (SMP)", () => http.PatchAsync($"/api/v1/nodes/{NodeName(i)}/status",
    Json("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"lastHeartbeatTime\":\"" + Now() + "\"}]}}", "application/strategic-merge-patch+json")));

// One loop per node per kind: sequential like kubelet's own loops, so an overrun shows as lag.
async Task Loop(long offsetTicks, Func<Task> op)
{
    for (var slot = start + offsetTicks; slot < endTicks; slot += periodTicks)
    {
        var wait = slot - Stopwatch.GetTimestamp();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), stop.Token);
        }

        var lagMs = (Stopwatch.GetTimestamp() - slot) * 1000.0 / Stopwatch.Frequency;
        if (slot >= measureStartTicks)
        {
            lags.Add(lagMs);
            if (lagMs > period.TotalMilliseconds)
            {
                Interlocked.Increment(ref missedSlots);
            }
        }

        await op();
    }
}

var loops = new List<Task>(2 * nodes);
var expected = 0L; // slots that fall inside the measured window, for the "every slot reached" check
long SlotsBefore(long offset, long until) => offset >= until - start ? 0 : ((until - start - offset) + periodTicks - 1) / periodTicks;
long Slots(long offset) => SlotsBefore(offset, endTicks) - SlotsBefore(offset, measureStartTicks);
for (var i = 0; i < nodes; i++)
{
    var node = i;
    var offset = periodTicks * i / nodes;
    expected += Slots(offset) + Slots(offset + periodTicks / (2 * nodes));
    loops.Add(Task.Run(() => Loop(offset, () => RenewLease(node))));
    loops.Add(Task.Run(() => Loop(offset + periodTicks / (2 * nodes), () => PatchStatus(node))));
}

var all = Task.WhenAll(loops);
// Markers for run.sh, which reads every process's CPU time at each: the measured window's cost.
async Task MarkAt(long ticks, string what)
{
    var wait = ticks - Stopwatch.GetTimestamp();
    if (wait > 0)
    {
        await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"MARK {what} requests={Interlocked.Read(ref opsStarted)} driver_cpu_s={Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F2}"));
}

var marks = Task.WhenAll(MarkAt(measureStartTicks, "measure-start"), MarkAt(endTicks, "measure-end"));
var finished = await Task.WhenAny(all, Task.Delay(warmup + duration + TimeSpan.FromSeconds(1) + drainTimeout)) == all;
await marks;
var steadySeconds = duration.TotalSeconds;
await stop.CancelAsync();
try
{
    await all.WaitAsync(TimeSpan.FromSeconds(5));
}
catch (Exception e) when (e is OperationCanceledException or TimeoutException)
{
}

// Report.
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"nodes {nodes}, period {period.TotalSeconds:F0} s, warm-up {warmup.TotalSeconds:F0} s ({warmupStats.Values.Sum(k => k.Count)} requests, {warmupStats.Values.Sum(k => k.Errors)} errors, not in the table), measured {duration.TotalSeconds:F0} s, target mutating rate {2.0 * nodes / period.TotalSeconds:F0}/s; setup {setupSeconds:F1} s"));
Console.WriteLine("| operation | count | ops/s | p50 ms | p99 ms | max ms | errors |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var k in stats.Values.OrderBy(k => k.Name.StartsWith("create", StringComparison.Ordinal) ? 0 : 1).ThenBy(k => k.Name, StringComparer.Ordinal))
{
    var seconds = k.Name.StartsWith("create", StringComparison.Ordinal) ? setupSeconds : steadySeconds;
    Console.WriteLine(k.Row(seconds));
}

var lagList = lags.ToArray();
Array.Sort(lagList);
var p99Lag = lagList.Length == 0 ? 0 : lagList[Math.Min(lagList.Length - 1, (int)(lagList.Length * 0.99))];
var maxLag = lagList.Length == 0 ? 0 : lagList[^1];
var started = lagList.Length;
// Held: every slot started within one second of its time and (almost) every slot was reached.
var held = finished && maxLag < 1000 && started >= expected * 0.99;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"schedule: {started}/{expected} slots started, lag p50 {(lagList.Length == 0 ? 0 : lagList[lagList.Length / 2]):F1} ms p99 {p99Lag:F1} ms max {maxLag:F1} ms, slots late by more than a period {missedSlots}, drained {(finished ? "yes" : "NO")}"));
var mutating = stats.Values.Where(k => !k.Name.StartsWith("create", StringComparison.Ordinal) && !k.Name.StartsWith("get", StringComparison.Ordinal)).ToList();
var worstP99 = mutating.Count == 0 ? 0 : mutating.Max(k => k.Percentile(0.99));
var errors = stats.Values.Sum(k => k.Errors);
var requests = stats.Values.Sum(k => k.Count);
// The driver shares the machine's cores with the servers: its own CPU is part of the picture.
var driverCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT nodes={nodes} mutating_p99_ms={worstP99:F1} errors={errors} lag_max_ms={maxLag:F0} schedule_held={(held ? "yes" : "no")} slo_met={(held && worstP99 < 1000 && errors == 0 ? "yes" : "no")} requests={requests} driver_cpu_s={driverCpu:F1}"));
return 0;

/// <summary>Latencies and errors of one request kind (thread-safe; bounded by the op schedule).</summary>
internal sealed class Kind(string name)
{
    private readonly List<double> _ok = [];
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);
    private int _conflicts;

    public string Name { get; } = name;

    /// <summary>Every request sent of this kind, answered or not.</summary>
    public int Count
    {
        get
        {
            lock (_ok)
            {
                return _ok.Count + _errors.Values.Sum();
            }
        }
    }

    public int Errors
    {
        get
        {
            lock (_ok)
            {
                return _errors.Values.Sum();
            }
        }
    }

    public void Ok(double ms)
    {
        lock (_ok)
        {
            _ok.Add(ms);
        }
    }

    public void Conflict(double ms)
    {
        lock (_ok)
        {
            _conflicts++;
            _ok.Add(ms);
        }
    }

    public void Error(string why, double ms)
    {
        _ = ms;
        lock (_ok)
        {
            _errors[why] = _errors.GetValueOrDefault(why) + 1;
        }
    }

    public double Percentile(double q)
    {
        lock (_ok)
        {
            if (_ok.Count == 0)
            {
                return 0;
            }

            var sorted = _ok.ToArray();
            Array.Sort(sorted);
            return sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * q))];
        }
    }

    public string Row(double seconds)
    {
        lock (_ok)
        {
            var sorted = _ok.ToArray();
            Array.Sort(sorted);
            double P(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * q))];
            var errors = _errors.Count == 0 && _conflicts == 0 ? "0"
                : string.Join(" ", _errors.Select(e => $"{e.Key}×{e.Value}").Append(_conflicts > 0 ? $"409×{_conflicts} (retried)" : "").Where(s => s.Length > 0));
            return string.Create(CultureInfo.InvariantCulture,
                $"| {Name} | {sorted.Length + _errors.Values.Sum()} | {sorted.Length / seconds:F0} | {P(0.5):F1} | {P(0.99):F1} | {(sorted.Length == 0 ? 0 : sorted[^1]):F1} | {errors} |");
        }
    }
}
