// Put load: W workers, each looping put(key_i, 256-byte value) for a fixed time, requests spread over
// all members (one client per member, worker w uses member w % N), as the etcd anchor measurement did.
// Prints one markdown row per concurrency: ops/s, p50, p99 (ms). Bounded in time and count.
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Trireme.Store.Client;
using Pb = Trireme.Store.Api.Etcdserverpb;

var endpoints = Arg("--endpoints").Split(',').Select(e => new Uri(e.StartsWith("http", StringComparison.Ordinal) ? e : "http://" + e)).ToArray();
var seconds = int.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture);
var label = Arg("--label", "store");
var concurrencies = Arg("--conc", "1,16,256").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
const int MaxOpsPerRun = 2_000_000;
var clients = endpoints.Select(e => new EtcdClient(e)).ToArray();
var value = ByteString.CopyFrom(new byte[256]);
foreach (var workers in concurrencies)
{
    var latencies = new List<double>[workers];
    var stop = DateTime.UtcNow.AddSeconds(seconds);
    long total = 0;
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
    {
        var mine = latencies[w] = [];
        var client = clients[w % clients.Length];
        var n = 0;
        while (DateTime.UtcNow < stop && Interlocked.Increment(ref total) < MaxOpsPerRun)
        {
            var started = Stopwatch.GetTimestamp();
            await client.PutAsync(new Pb.PutRequest { Key = ByteString.CopyFromUtf8($"bench/{w}/{n++ % 1000}"), Value = value });
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    })));
    var elapsed = watch.Elapsed.TotalSeconds;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    double P(double q) => all[Math.Min(all.Length - 1, (int)(q * all.Length))];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {label} | {workers} | {all.Length / elapsed:F0} | {P(0.5):F2} | {P(0.99):F2} |"));
}

string Arg(string name, string? fallback = null)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"{name} is required");
}
