// The store benchmark's load client, the same for Trireme and real etcd (bench/store/run.sh drives it).
// Modes (each bounded in time and count; results go to stdout as one tab-separated line per row,
// "RESULT <store> <test> <param> <key=value>...", which `report` turns into the side-by-side table):
//   put       W workers loop put(key, 256-byte value) for S seconds, worker w on member w % N
//   range     W workers loop a single-key range, linearizable (default) or --serializable
//   watch     100 watchers on a prefix (spread over members) while W writers put: events/s delivered,
//             delivery latency from the put's start to each watcher's receipt
//   failover  find the leader, send it SIGKILL or SIGTERM (by PID), time the first successful put
//             through the survivors (500 ms per attempt, every 10 ms); prints the victim's index
//   health    wait (bounded) until every endpoint reports the same leader and a put succeeds
//   report    read RESULT lines from a file and print the markdown table with Trireme/etcd ratios
// Server CPU per operation comes from /proc/<pid>/stat (utime+stime of every member) when --pids is given.
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Trireme.Grpc;
using Trireme.Store.Client;
using Pb = Trireme.Store.Api.Etcdserverpb;

var mode = args.Length > 0 ? args[0] : throw new ArgumentException("mode required: put|range|watch|failover|health|report");
if (mode == "report")
{
    Report.Print(Arg("--file"));
    return 0;
}

var endpoints = Arg("--endpoints").Split(',').Select(e => new Uri(e.StartsWith("http", StringComparison.Ordinal) ? e : "http://" + e)).ToArray();
var label = Arg("--label", "store");
var seconds = int.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture);
var pids = Arg("--pids", "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
switch (mode)
{
    case "put":
        foreach (var workers in Ints(Arg("--conc", "1,16,256")))
        {
            await Load.RunAsync(label, "put", workers, seconds, endpoints, pids, async (client, w, n) =>
                await client.PutAsync(new Pb.PutRequest { Key = Load.Key(w, n), Value = Load.Value }));
        }

        return 0;
    case "range":
        var serializable = args.Contains("--serializable");
        foreach (var workers in Ints(Arg("--conc", "64")))
        {
            await Load.RunAsync(label, serializable ? "range-s" : "range-l", workers, seconds, endpoints, pids, async (client, w, n) =>
                await client.RangeAsync(new Pb.RangeRequest { Key = Load.Key(w % 16, n), Serializable = serializable }));
        }

        return 0;
    case "watch":
        await WatchLoad.RunAsync(label, int.Parse(Arg("--watchers", "100"), CultureInfo.InvariantCulture),
            int.Parse(Arg("--writers", "16"), CultureInfo.InvariantCulture), seconds, endpoints, pids);
        return 0;
    case "failover":
        return await Failover.RunAsync(label, Arg("--signal", "KILL"), endpoints, pids);
    case "health":
        return await Failover.WaitHealthyAsync(endpoints, TimeSpan.FromSeconds(int.Parse(Arg("--timeout", "60"), CultureInfo.InvariantCulture))) ? 0 : 1;
    default:
        throw new ArgumentException($"unknown mode {mode}");
}

string Arg(string name, string? fallback = null)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"{name} is required");
}

static int[] Ints(string csv) => csv.Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();

internal static class Load
{
    /// <summary>Upper bound on operations per row, whatever the speed (bounds memory for latencies).</summary>
    private const int MaxOpsPerRun = 2_000_000;

    public static readonly ByteString Value = ByteString.CopyFrom(new byte[256]);

    /// <summary>BENCH_VERBOSE=1: print each failed failover probe (when and why).</summary>
    public static readonly bool Verbose = Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1";

    /// <summary>BENCH_SLOW_MS: report when operations at least this slow finished (finding stalls).</summary>
    public static readonly int SlowMs = int.TryParse(Environment.GetEnvironmentVariable("BENCH_SLOW_MS"), out var ms) ? ms : 0;

    /// <summary>1000 keys in all, shared by the workers (each starts at its own offset): the method of the
    /// issue's etcd anchor (../shared/research/anchors.md, "256 B values over 1000 keys").</summary>
    public static ByteString Key(int worker, int n) => ByteString.CopyFromUtf8($"bench/{((worker * 37) + n) % 1000}");

    /// <summary>BENCH_ROW_WARMUP_SECONDS (default 6): each row first runs its own load this long, unrecorded,
    /// in this process. Without it a row measured this client's own warm-up too (its request path still
    /// being JIT-compiled on the shared cores): the first 1-client row's p99 was 2.1 ms for etcd and
    /// 2.4-3.0 ms for Trireme, a second identical row in the same process 1.5 ms and 1.3-1.5 ms. 2 s
    /// covered the client but not a Trireme server meeting a load shape for the first time: its tiered
    /// JIT (with PGO) recompiles the newly hot paths over about 4 s, and at 1 client that showed as a
    /// burst of 3+ ms puts 2.5-4 s into the load (p99 2.2-2.8 ms with 2 s, 1.5 ms with 6 s; with
    /// DOTNET_TieredPGO=0 the burst is gone even with 2 s). docs/benchmarks-store.md has the runs.</summary>
    public static readonly int RowWarmupSeconds =
        int.TryParse(Environment.GetEnvironmentVariable("BENCH_ROW_WARMUP_SECONDS"), out var s) ? s : 6;

    public static async Task RunAsync(string label, string test, int workers, int seconds, Uri[] endpoints, int[] pids,
        Func<EtcdClient, int, int, Task> op)
    {
        var clients = endpoints.Select(e => new EtcdClient(e)).ToArray();
        // Warm the connections (and the JIT) so the first operations do not count a dial.
        await Task.WhenAll(clients.Select(c => op(c, 0, 0)));
        if (RowWarmupSeconds > 0)
        {
            var warmUntil = DateTime.UtcNow.AddSeconds(RowWarmupSeconds);
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                var client = clients[w % clients.Length];
                for (var n = 0; DateTime.UtcNow < warmUntil && n < MaxOpsPerRun; n++)
                {
                    try
                    {
                        await op(client, w, n);
                    }
                    catch (GrpcException)
                    {
                        // Errors count in the measured window only.
                    }
                }
            })));
        }
        var latencies = new List<double>[workers];
        var errors = 0L;
        var kinds = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var slow = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var stop = DateTime.UtcNow.AddSeconds(seconds);
        long total = 0;
        var cpuBefore = Cpu.Ticks(pids);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = [];
            var client = clients[w % clients.Length];
            var n = 0;
            while (DateTime.UtcNow < stop && Interlocked.Increment(ref total) < MaxOpsPerRun)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await op(client, w, n++);
                    var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    mine.Add(ms);
                    if (SlowMs > 0 && ms >= SlowMs)
                    {
                        slow.AddOrUpdate((int)(watch.Elapsed.TotalMilliseconds / 250), 1, (_, c) => c + 1);
                    }
                }
                catch (GrpcException e)
                {
                    Interlocked.Increment(ref errors);
                    kinds.AddOrUpdate($"{e.StatusCode}: {e.Message}", 1, (_, c) => c + 1);
                }
            }
        })));
        if (!slow.IsEmpty)
        {
            Console.Error.WriteLine($"# {label} {test} {workers}: ops >= {SlowMs} ms finishing per 250 ms window: " +
                string.Join(' ', slow.OrderBy(k => k.Key).Select(k => $"{k.Key * 0.25:0.00}s:{k.Value}")));
        }

        foreach (var (kind, count) in kinds.OrderByDescending(k => k.Value).Take(5))
        {
            Console.Error.WriteLine($"# {label} {test} {workers}: {count} x {kind}");
        }

        if (Environment.GetEnvironmentVariable("BENCH_BY_ENDPOINT") == "1")
        {
            // Diagnosis: the same percentiles per member the workers talked to (worker w uses member w % N).
            for (var e = 0; e < clients.Length; e++)
            {
                var part = latencies.Where((_, w) => w % clients.Length == e).SelectMany(l => l).Order().ToArray();
                Console.Error.WriteLine($"# {label} {test} {workers} via {endpoints[e].Authority}: {part.Length} ops, " +
                    $"p50 {Percentile(part, 0.5):0.00} ms, p90 {Percentile(part, 0.9):0.00} ms, p99 {Percentile(part, 0.99):0.00} ms, max {(part.Length == 0 ? 0 : part[^1]):0.00} ms");
            }
        }

        var elapsed = watch.Elapsed.TotalSeconds;
        var cpuMs = Cpu.Milliseconds(pids, cpuBefore);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        Result.Print(label, test, workers.ToString(CultureInfo.InvariantCulture),
            ("ops_s", all.Length / elapsed), ("p50_ms", Percentile(all, 0.5)), ("p99_ms", Percentile(all, 0.99)),
            ("errors", errors), ("cpu_us_op", all.Length == 0 || cpuMs < 0 ? -1 : cpuMs * 1000 / all.Length));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    public static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
}

internal static class WatchLoad
{
    /// <summary>Latency samples kept per watcher (bounds memory on a fast run).</summary>
    private const int MaxSamplesPerWatcher = 200_000;

    public static async Task RunAsync(string label, int watchers, int writers, int seconds, Uri[] endpoints, int[] pids)
    {
        var clients = endpoints.Select(e => new EtcdClient(e)).ToArray();
        var prefix = $"watchbench/{Environment.ProcessId}/";
        var watches = new List<EtcdWatch>();
        for (var i = 0; i < watchers; i++)
        {
            watches.Add(await clients[i % clients.Length].WatchAsync(prefix, prefix: true));
        }

        var delivered = 0L;
        var samples = new List<double>[watchers];
        using var done = new CancellationTokenSource();
        var readers = watches.Select((watch, i) => Task.Run(async () =>
        {
            var mine = samples[i] = [];
            try
            {
                await foreach (var update in watch.ReadAllAsync(done.Token))
                {
                    var now = Stopwatch.GetTimestamp();
                    foreach (var e in update.Events)
                    {
                        Interlocked.Increment(ref delivered);
                        if (mine.Count < MaxSamplesPerWatcher)
                        {
                            var sent = BitConverter.ToInt64(e.Kv.Value.Span);
                            mine.Add(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToArray();

        var stop = DateTime.UtcNow.AddSeconds(seconds);
        long puts = 0;
        var cpuBefore = Cpu.Ticks(pids);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var client = clients[w % clients.Length];
            var value = new byte[256];
            var n = 0;
            while (DateTime.UtcNow < stop && Interlocked.Increment(ref puts) < 1_000_000)
            {
                BitConverter.TryWriteBytes(value, Stopwatch.GetTimestamp());
                await client.PutAsync(new Pb.PutRequest { Key = ByteString.CopyFromUtf8($"{prefix}{w}/{n++ % 100}"), Value = ByteString.CopyFrom(value) });
            }
        })));
        // Let deliveries in flight arrive (bounded), then stop the readers.
        var expected = Interlocked.Read(ref puts) * watchers;
        var drainUntil = DateTime.UtcNow.AddSeconds(5);
        while (Interlocked.Read(ref delivered) < expected && DateTime.UtcNow < drainUntil)
        {
            await Task.Delay(20);
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        var cpuMs = Cpu.Milliseconds(pids, cpuBefore);
        await done.CancelAsync();
        await Task.WhenAll(readers);
        var all = samples.SelectMany(s => s ?? []).Order().ToArray();
        var got = Interlocked.Read(ref delivered);
        Result.Print(label, "watch", watchers.ToString(CultureInfo.InvariantCulture),
            ("events_s", got / elapsed), ("p50_ms", Load.Percentile(all, 0.5)), ("p99_ms", Load.Percentile(all, 0.99)),
            ("missing", Math.Max(0, expected - got)), ("cpu_us_event", got == 0 || cpuMs < 0 ? -1 : cpuMs * 1000 / got));
        foreach (var watch in watches)
        {
            await watch.DisposeAsync();
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }
}

internal static class Failover
{
    /// <summary>Per-attempt deadline and retry period of the probe put (the anchors' etcd method).</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(10);

    /// <summary>Gives up on a failover after this long (then reports it as the measured time).</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(string label, string signal, Uri[] endpoints, int[] pids)
    {
        var leader = await FindLeaderAsync(endpoints);
        if (leader < 0 || pids.Length != endpoints.Length)
        {
            Console.Error.WriteLine("# failover: no leader found (or --pids missing)");
            return 1;
        }

        var survivors = endpoints.Where((_, i) => i != leader).ToArray();
        var probes = survivors.Select(e => new EtcdClient(new EtcdClientOptions { Endpoints = [e], RequestTimeout = AttemptTimeout })).ToArray();
        await Task.WhenAll(probes.Select(p => p.PutAsync("bench/failover", "warm")));
        var clock = Stopwatch.StartNew();
        var killer = Process.Start("kill", ["-" + signal, pids[leader].ToString(CultureInfo.InvariantCulture)]);
        await killer.WaitForExitAsync();
        var attempt = 0;
        while (clock.Elapsed < GiveUpAfter)
        {
            var probe = probes[attempt++ % probes.Length];
            try
            {
                using var cts = new CancellationTokenSource(AttemptTimeout);
                await probe.PutAsync("bench/failover", "x", cancellationToken: cts.Token);
                if (Load.Verbose)
                {
                    Console.Error.WriteLine($"# failover probe {attempt} via {survivors[(attempt - 1) % survivors.Length].Authority} succeeded at {clock.Elapsed.TotalMilliseconds:0.0} ms ({DateTime.Now:HH:mm:ss.fff}; signal sent {DateTime.Now - clock.Elapsed:HH:mm:ss.fff})");
                }

                break;
            }
            catch (Exception e) when (e is GrpcException or OperationCanceledException)
            {
                if (Load.Verbose)
                {
                    Console.Error.WriteLine($"# failover attempt {attempt} via {survivors[(attempt - 1) % survivors.Length].Authority} failed at {clock.Elapsed.TotalMilliseconds:0.0} ms: {e.Message}");
                }

                await Task.Delay(RetryEvery);
            }
        }

        Result.Print(label, signal == "KILL" ? "failover-kill" : "failover-term", "", ("ms", clock.Elapsed.TotalMilliseconds),
            ("victim", leader));
        foreach (var probe in probes)
        {
            await probe.DisposeAsync();
        }

        return 0;
    }

    private static async Task<int> FindLeaderAsync(Uri[] endpoints)
    {
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = endpoints, RequestTimeout = TimeSpan.FromSeconds(2) });
        for (var i = 0; i < endpoints.Length; i++)
        {
            try
            {
                var status = await client.StatusAsync(endpoints[i]);
                if (status.Leader != 0 && status.Leader == status.Header.MemberId)
                {
                    return i;
                }
            }
            catch (GrpcException)
            {
            }
        }

        return -1;
    }

    public static async Task<bool> WaitHealthyAsync(Uri[] endpoints, TimeSpan timeout)
    {
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = endpoints, RequestTimeout = TimeSpan.FromSeconds(2) });
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var leaders = new HashSet<ulong>();
                foreach (var endpoint in endpoints)
                {
                    leaders.Add((await client.StatusAsync(endpoint)).Leader);
                }

                if (leaders.Count == 1 && !leaders.Contains(0))
                {
                    await client.PutAsync("bench/health", "ok");
                    return true;
                }
            }
            catch (GrpcException)
            {
            }

            await Task.Delay(100);
        }

        Console.Error.WriteLine("# health: cluster not healthy in time");
        return false;
    }
}

/// <summary>Sum of utime+stime over the given processes, from /proc (clock ticks; 100 per second on Linux).</summary>
internal static class Cpu
{
    private const double TicksPerSecond = 100;

    public static long Ticks(int[] pids)
    {
        long sum = 0;
        foreach (var pid in pids)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                sum += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return -1;
            }
        }

        return sum;
    }

    public static double Milliseconds(int[] pids, long before)
    {
        var after = Ticks(pids);
        return pids.Length == 0 || before < 0 || after < 0 ? -1 : (after - before) * 1000 / TicksPerSecond;
    }
}

internal static class Result
{
    public static void Print(string label, string test, string param, params (string Key, double Value)[] values) =>
        Console.WriteLine(string.Join('\t', new[] { "RESULT", label, test, param }
            .Concat(values.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Key}={v.Value:0.###}")))));
}

/// <summary>Reads RESULT lines and prints one markdown table: etcd, Trireme and Trireme/etcd per metric.</summary>
internal static class Report
{
    public static void Print(string file)
    {
        var rows = File.ReadAllLines(file).Where(l => l.StartsWith("RESULT\t", StringComparison.Ordinal))
            .Select(l => l.Split('\t'))
            .Select(f => (Store: f[1], Test: f[2], Param: f[3],
                Values: f.Skip(4).Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture))))
            .ToList();
        var stores = rows.Select(r => r.Store).Distinct().ToList();
        var reference = stores.FirstOrDefault(s => s.StartsWith("etcd", StringComparison.Ordinal)) ?? stores[0];
        var subject = stores.FirstOrDefault(s => s != reference) ?? "-"; // one store only: no ratios
        Console.WriteLine($"| test | metric | {reference} | {subject} | {subject}/{reference} |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var group in rows.Where(r => !r.Test.StartsWith("failover", StringComparison.Ordinal)).GroupBy(r => (r.Test, r.Param)))
        {
            var a = group.FirstOrDefault(r => r.Store == reference).Values;
            var b = group.FirstOrDefault(r => r.Store == subject).Values;
            foreach (var metric in (a ?? b ?? []).Keys.Where(k => k is not ("errors" or "missing")))
            {
                Line($"{group.Key.Test} {group.Key.Param}", metric, Get(a, metric), Get(b, metric));
            }

            var problems = new[] { "errors", "missing" }.Select(k => (k, Get(a, k), Get(b, k))).Where(p => p.Item2 > 0 || p.Item3 > 0);
            foreach (var (k, x, y) in problems)
            {
                Line($"{group.Key.Test} {group.Key.Param}", k, x, y);
            }
        }

        foreach (var test in rows.Where(r => r.Test.StartsWith("failover", StringComparison.Ordinal)).Select(r => r.Test).Distinct())
        {
            double[] Times(string store) => rows.Where(r => r.Test == test && r.Store == store).Select(r => r.Values["ms"]).Order().ToArray();
            var (a, b) = (Times(reference), Times(subject));
            Line($"{test} (runs {a.Length}/{b.Length})", "median ms", Median(a), Median(b));
            Line($"{test} (runs {a.Length}/{b.Length})", "max ms", a.Length == 0 ? double.NaN : a[^1], b.Length == 0 ? double.NaN : b[^1]);
            Console.WriteLine($"| {test} | all ms | {string.Join(' ', a.Select(F))} | {string.Join(' ', b.Select(F))} | |");
        }
    }

    private static double Get(Dictionary<string, double>? values, string key) =>
        values is not null && values.TryGetValue(key, out var v) ? v : double.NaN;

    private static double Median(double[] sorted) => sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];

    private static void Line(string test, string metric, double a, double b) =>
        Console.WriteLine($"| {test} | {metric} | {F(a)} | {F(b)} | {(a > 0 && b >= 0 ? (b / a).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "")} |");

    private static string F(double v) => double.IsNaN(v) ? "-" : v.ToString(v >= 100 ? "0" : "0.##", CultureInfo.InvariantCulture);
}
