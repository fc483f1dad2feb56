// Measures get/list/create/update/patch throughput and p50/p99 through one in-process API server
// (TLS, client-cert auth, RBAC, real handlers) over a real etcd, and the same key operations issued
// directly to etcd through EtcdKeyValueStore, so the API server's own overhead shows as a ratio.
// Also a watch fan-out: W watchers on one resource, time until all of them saw E events.
// "CPU ms/op" is this process's CPU time (the API server and the HTTP client together; etcd is a
// separate process) per operation: the measure the shared machine's load distorts least.
// Usage: Trireme.ApiServer.Bench <etcd-url> <pki-dir> [ops-per-kind] [concurrency] [watchers]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Trireme.ApiServer;
using Trireme.ApiServer.Storage;

var etcdUrl = args[0];
var pki = args[1];
var ops = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
var concurrency = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 16;
var watchers = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1000;

await using var store = EtcdKeyValueStore.Connect([etcdUrl], null, null, null);
var options = new ApiServerOptions
{
    BindAddress = IPAddress.Loopback, SecurePort = 0,
    TlsCertFile = Path.Combine(pki, "apiserver.crt"), TlsPrivateKeyFile = Path.Combine(pki, "apiserver.key"),
    ClientCaFile = Path.Combine(pki, "ca.crt"), MaxRequestsInflight = 10_000, MaxMutatingRequestsInflight = 10_000,
};
await using var host = await ApiServerHost.StartAsync(options, store, null, null, CancellationToken.None);
var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency };
handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key"))];
using var http = new HttpClient(handler) { BaseAddress = new Uri(host.Url), DefaultRequestVersion = HttpVersion.Version20 };
var run = Guid.NewGuid().ToString("N")[..6];

static StringContent Body(string text, string type = "application/json") => new(text, new MediaTypeHeaderValue(type));
string Cm(int i) => $"{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"b{run}-{i}\"}},\"data\":{{\"k\":\"{i}\"}}}}";
const string Base = "/api/v1/namespaces/default/configmaps";

async Task<(double PerSecond, double P50, double P99)> Measure(string name, Func<int, Task> op)
{
    var latencies = new double[ops];
    var next = -1;
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var total = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < ops)
        {
            var sw = Stopwatch.StartNew();
            await op(i);
            latencies[i] = sw.Elapsed.TotalMilliseconds;
        }
    }));
    var seconds = total.Elapsed.TotalSeconds;
    var cpuMsPerOp = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / ops;
    Array.Sort(latencies);
    var result = (ops / seconds, latencies[ops / 2], latencies[(int)(ops * 0.99)]);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {result.Item1:F0} | {result.Item2:F2} | {result.Item3:F2} | {cpuMsPerOp:F2} |"));
    return result;
}

async Task Ok(HttpResponseMessage r)
{
    if (!r.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    r.Dispose();
}

Console.WriteLine($"ops per kind {ops}, concurrency {concurrency}");
Console.WriteLine("| operation | ops/s | p50 ms | p99 ms | CPU ms/op |");
Console.WriteLine("|---|---|---|---|---|");
await Measure("apiserver create", async i => await Ok(await http.PostAsync(Base, Body(Cm(i)))));
await Measure("apiserver get", async i => await Ok(await http.GetAsync($"{Base}/b{run}-{i}")));
await Measure("apiserver update (PUT, read-modify-write)", async i =>
{
    var text = await http.GetStringAsync($"{Base}/b{run}-{i}");
    await Ok(await http.PutAsync($"{Base}/b{run}-{i}", Body(text.Replace("\"k\":", "\"u\":\"1\",\"k\":", StringComparison.Ordinal))));
});
await Measure("apiserver patch (strategic merge)", async i =>
    await Ok(await http.PatchAsync($"{Base}/b{run}-{i}", Body("{\"data\":{\"p\":\"1\"}}", "application/strategic-merge-patch+json"))));
var listOps = Math.Max(ops / 20, 10);
var saved = ops;
ops = listOps;
await Measure($"apiserver list ({saved} objects, limit=500)", async _ => await Ok(await http.GetAsync($"{Base}?limit=500")));
await Measure($"apiserver list, every page ({saved} objects, limit=500 + continue)", async _ =>
{
    var url = $"{Base}?limit=500";
    for (var page = 0; page < 1000; page++)
    {
        var text = await http.GetStringAsync(url);
        var token = System.Text.Json.Nodes.JsonNode.Parse(text)!["metadata"]!["continue"]?.GetValue<string>();
        if (string.IsNullOrEmpty(token))
        {
            return;
        }

        url = $"{Base}?limit=500&continue={Uri.EscapeDataString(token)}";
    }
});
ops = saved;

var value = Encoding.UTF8.GetBytes(Cm(0));
await Measure("etcd create (txn, same adapter)", async i => await store.CreateAsync($"/bench/{run}/{i}", value, default));
await Measure("etcd get", async i => await store.GetAsync($"/bench/{run}/{i}", default));
await Measure("etcd update (get + txn)", async i =>
{
    var kv = await store.GetAsync($"/bench/{run}/{i}", default);
    await store.UpdateAsync($"/bench/{run}/{i}", value, kv!.ModRevision, default);
});

// Watch fan-out: all watchers on the same resource, one store watch behind them. Watchers get their
// own client that may open several HTTP/2 connections, so they do not queue behind a stream limit.
var watchHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
watchHandler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
watchHandler.SslOptions.ClientCertificates = handler.SslOptions.ClientCertificates;
using var watchHttp = new HttpClient(watchHandler) { BaseAddress = new Uri(host.Url), DefaultRequestVersion = HttpVersion.Version20, Timeout = Timeout.InfiniteTimeSpan };
const int Events = 50;
var ready = new CountdownEvent(watchers);
var done = new CountdownEvent(watchers);
using var stop = new CancellationTokenSource();
var tasks = Enumerable.Range(0, watchers).Select(async _ =>
{
    using var response = await watchHttp.GetAsync($"/api/v1/namespaces/kube-public/configmaps?watch=true&resourceVersion={host.Context.Caches["configmaps"].Revision}",
        HttpCompletionOption.ResponseHeadersRead, stop.Token);
    ready.Signal();
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
    var seen = 0;
    while (seen < Events && await reader.ReadLineAsync(stop.Token) is not null)
    {
        seen++;
    }

    done.Signal();
}).ToList();
ready.Wait(TimeSpan.FromSeconds(120));
var fan = Stopwatch.StartNew();
for (var i = 0; i < Events; i++)
{
    await Ok(await http.PostAsync("/api/v1/namespaces/kube-public/configmaps", Body(Cm(i).Replace($"b{run}", $"w{run}", StringComparison.Ordinal))));
}

var complete = done.Wait(TimeSpan.FromSeconds(120));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"watch fan-out: {watchers} watchers x {Events} events delivered in {fan.Elapsed.TotalMilliseconds:F0} ms ({watchers * Events / fan.Elapsed.TotalSeconds:F0} events/s){(complete ? "" : " INCOMPLETE")}"));
await stop.CancelAsync();
try
{
    await Task.WhenAll(tasks);
}
catch (OperationCanceledException)
{
}
