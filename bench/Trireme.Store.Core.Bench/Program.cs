// Scaling micro-benchmark for Trireme.Store.Core: per-operation cost of put, point get, limited
// ranges, count-only ranges, txn, watch fan-out, HashKV and snapshots at 10k, 100k and 1M keys.
// If put and range are O(log n) + output, per-op times stay nearly flat as the key count grows
// tenfold. Usage: dotnet run -c Release --project bench/Trireme.Store.Core.Bench [-- maxKeys]
using System.Diagnostics;
using System.Text;
using Trireme.Store.Core;
using Trireme.Store.Core.Codec;
using Trireme.Store.Core.Watch;

int maxKeys = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
Console.WriteLine($"| keys | put µs/op (encoded apply) | get µs/op | range of 10 keys µs/op | namespace range (n/100 keys) limit 10 µs/op | txn (cmp+put) µs/op | count-only all ms | HashKV ms | snapshot write ms | restore ms |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (int keys = 10_000; keys <= maxKeys; keys *= 10)
{
    Run(keys);
}

RunWatch(100_000, watchers: 1000);

static byte[] Key(int i) => Encoding.ASCII.GetBytes($"/registry/pods/ns{i % 100:D3}/pod-{i:D8}");

static void Run(int keys)
{
    var machine = new StoreStateMachine(new StoreOptions { QuotaBytes = -1 });
    var random = new Random(1);
    int[] order = [.. Enumerable.Range(0, keys).OrderBy(_ => random.Next())];
    byte[] value = new byte[256];
    byte[][] entries = [.. order.Select(i => CommandCodec.Encode(new StoreCommand(new PutRequest { Key = Key(i), Value = value })))];
    long index = 0;

    var clock = Stopwatch.StartNew();
    foreach (byte[] entry in entries)
    {
        machine.Apply(++index, entry, 0);
    }

    double putMicros = clock.Elapsed.TotalMicroseconds / keys;

    const int probes = 100_000;
    clock.Restart();
    for (int i = 0; i < probes; i++)
    {
        machine.Range(new RangeRequest { Key = Key(random.Next(keys)) });
    }

    double getMicros = clock.Elapsed.TotalMicroseconds / probes;

    // A range whose output is fixed (10 keys: same namespace, the next 10 pods) at every store size.
    clock.Restart();
    for (int i = 0; i < probes; i++)
    {
        int first = random.Next(keys - 1000);
        machine.Range(new RangeRequest { Key = Key(first), RangeEnd = Key(first + 1000) });
    }

    double rangeMicros = clock.Elapsed.TotalMicroseconds / probes;

    // A namespace listing with limit 10: etcd's Count covers the whole range (n/100 keys here), so this
    // grows with the range, not with the store.
    const int namespaceProbes = 2000;
    clock.Restart();
    for (int i = 0; i < namespaceProbes; i++)
    {
        byte[] prefix = Encoding.ASCII.GetBytes($"/registry/pods/ns{random.Next(100):D3}/");
        machine.Range(new RangeRequest { Key = prefix, RangeEnd = ByteKeys.PrefixEnd(prefix), Limit = 10 });
    }

    double fromKeyMicros = clock.Elapsed.TotalMicroseconds / namespaceProbes;

    const int txns = 50_000;
    clock.Restart();
    for (int i = 0; i < txns; i++)
    {
        byte[] key = Key(random.Next(keys));
        machine.Apply(++index, new StoreCommand(new TxnRequest
        {
            Compare = [new Compare { Key = key, Target = CompareTarget.Version, Result = CompareResult.Greater, Number = 0 }],
            Success = [new PutRequest { Key = key, Value = value }],
        }), 0);
    }

    double txnMicros = clock.Elapsed.TotalMicroseconds / txns;

    clock.Restart();
    machine.Range(new RangeRequest { Key = [0], RangeEnd = [0], CountOnly = true });
    double countMillis = clock.Elapsed.TotalMilliseconds;

    clock.Restart();
    machine.HashKv();
    double hashMillis = clock.Elapsed.TotalMilliseconds;

    clock.Restart();
    byte[] snapshot = machine.Snapshot();
    double snapshotMillis = clock.Elapsed.TotalMilliseconds;

    clock.Restart();
    new StoreStateMachine(new StoreOptions { QuotaBytes = -1 }).RestoreSnapshot(snapshot);
    double restoreMillis = clock.Elapsed.TotalMilliseconds;

    Console.WriteLine(FormattableString.Invariant(
        $"| {keys:N0} | {putMicros:F2} | {getMicros:F2} | {rangeMicros:F2} | {fromKeyMicros:F1} | {txnMicros:F2} | {countMillis:F1} | {hashMillis:F0} | {snapshotMillis:F0} | {restoreMillis:F0} |"));
}

static void RunWatch(int puts, int watchers)
{
    var machine = new StoreStateMachine(new StoreOptions { QuotaBytes = -1, MaxPendingEventsPerWatcher = 64 });
    WatchHub hub = machine.Watches;
    var ids = new List<long>();
    for (int i = 0; i < watchers; i++)
    {
        // Half single-key watchers, half prefix watchers (one namespace each).
        ids.Add(i % 2 == 0
            ? hub.Create(new WatchCreateRequest { Key = Key(i) }).WatcherId
            : hub.Create(new WatchCreateRequest { Key = Encoding.ASCII.GetBytes($"/registry/pods/ns{i % 100:D3}/"), RangeEnd = ByteKeys.PrefixEnd(Encoding.ASCII.GetBytes($"/registry/pods/ns{i % 100:D3}/")) }).WatcherId);
    }

    byte[] value = new byte[256];
    long delivered = 0;
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < puts; i++)
    {
        machine.Apply(i + 1, new StoreCommand(new PutRequest { Key = Key(i % 10_000), Value = value }), 0);
        foreach (WatchResponse response in hub.TakeReady())
        {
            delivered += response.Events.Count;
        }
    }

    Console.WriteLine(FormattableString.Invariant(
        $"\nwatch: {watchers} watchers ({watchers / 2} single-key, {watchers / 2} prefix), {puts:N0} puts: {clock.Elapsed.TotalMicroseconds / puts:F2} µs/put including fan-out, {delivered:N0} events delivered ({delivered / clock.Elapsed.TotalSeconds:N0} events/s)"));
}
