// Proves crash safety with real processes: kill -9 of the leader while 4 clients write loses no
// acknowledged write, the killed member restarts from its WAL + snapshot (snapshot-count is small so
// snapshots and log compaction really happen) and converges to the same HashKV as the others; a watch
// opened by real etcdctl keeps delivering across the leader kill, and a `watch --rev --prev-kv -w json`
// delivers every acknowledged write in strictly increasing revision order (none missed or repeated,
// whichever member etcdctl was connected to); a member whose WAL is corrupted in the middle refuses to
// start with a message naming the file and byte offset, and is replaced the way the
// message says (etcdctl member remove, wipe its data dir, member add --learner with the same peer URL,
// start with --initial-cluster-state existing, member promote) and then holds all the data.
// (The many-client linearizability check under repeated kills is Faults/KillLinearizabilityTests.)
using System.Collections.Concurrent;
using Google.Protobuf;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Store.Wal;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests;

public sealed class CrashTests
{
    private static async Task<bool> TryPut(Uri endpoint, string key, string value)
    {
        try
        {
            using var channel = new GrpcChannel(endpoint);
            await channel.UnaryAsync(EtcdMethods.KVPut,
                new Pb.PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) },
                Pb.PutResponse.Parser, new CallOptions(TimeSpan.FromSeconds(5)));
            return true;
        }
        catch (Exception e) when (e is Trireme.Grpc.GrpcException or HttpRequestException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<Pb.RangeResponse> Get(Uri endpoint, string prefix, bool serializable)
    {
        using var channel = new GrpcChannel(endpoint);
        var key = ByteString.CopyFromUtf8(prefix);
        var end = key.ToByteArray();
        end[^1]++;
        return await channel.UnaryAsync(EtcdMethods.KVRange,
            new Pb.RangeRequest { Key = key, RangeEnd = ByteString.CopyFrom(end), Serializable = serializable },
            Pb.RangeResponse.Parser, new CallOptions(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Kill_9_of_the_leader_under_writes_loses_no_acknowledged_write()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync(snapshotCount: 40);
        var leader = await cluster.WaitLeaderAsync();
        using var watch = ChildProcess.Start(EtcdCluster.EtcdctlPath!,
            ["--endpoints", string.Join(",", cluster.Members.Select(m => m.ClientUrl.ToString().TrimEnd('/'))), "watch", "/crash/", "--prefix"],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        await Poll.UntilAsync(async () => await TryPut(cluster.Members[0].ClientUrl, "/crash/probe", "p") &&
            watch.OutputTail.Contains("/crash/probe", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "watch to start");

        // A second watch from an explicit revision with previous values, as JSON, so revisions are visible:
        // across the leader kill its events must stay in strictly increasing mod_revision order (if its
        // member was the one killed, etcdctl resumes on another from the next revision: nothing repeated)
        // and include every acknowledged write of writer 0 (nothing missed).
        var from = (await Get(cluster.Members[0].ClientUrl, "/crash/", serializable: false)).Header.Revision + 1;
        using var jsonWatch = ChildProcess.Start(EtcdCluster.EtcdctlPath!,
            ["--endpoints", string.Join(",", cluster.Members.Select(m => m.ClientUrl.ToString().TrimEnd('/'))),
             "watch", "/crash/w0/", "--prefix", "--rev", from.ToString(System.Globalization.CultureInfo.InvariantCulture), "--prev-kv", "-w", "json"],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });

        var acknowledged = new ConcurrentDictionary<string, string>();
        var killed = 0;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var n = 0; n < 60; n++)
            {
                var key = $"/crash/w{w}/{n:D3}";
                for (var attempt = 0; attempt < 40; attempt++)
                {
                    var live = cluster.Members.Where(m => m.IsRunning).ToList();
                    if (live.Count > 0 && await TryPut(live[(n + attempt + w) % live.Count].ClientUrl, key, $"v{n}"))
                    {
                        acknowledged[key] = $"v{n}";
                        break;
                    }

                    await Task.Delay(100);
                }

                if (acknowledged.Count >= 60 && Interlocked.Exchange(ref killed, 1) == 0)
                {
                    cluster.Kill(leader);
                }
            }
        })).ToList();
        await Task.WhenAll(writers);
        Assert.Equal(1, killed);
        Assert.True(acknowledged.Count >= 200, $"only {acknowledged.Count} writes were acknowledged");

        await cluster.WaitLeaderAsync();
        await Poll.UntilAsync(() => watch.OutputTail.Contains("/crash/w3/059", StringComparison.Ordinal) ||
            watch.OutputTail.Contains("/crash/w0/059", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "watch to deliver after the kill");

        var writerZero = acknowledged.Keys.Where(k => k.StartsWith("/crash/w0/", StringComparison.Ordinal)).ToList();
        List<(string Key, long ModRevision)> events = [];
        await Poll.UntilAsync(() =>
        {
            events = EtcdctlJson.WatchEvents(jsonWatch.OutputTail);
            return writerZero.All(k => events.Any(e => e.Key == k));
        }, TimeSpan.FromSeconds(60), "the JSON watch to deliver every acknowledged write of writer 0");
        Assert.True(events[0].ModRevision >= from, $"first event at {events[0].ModRevision}, watch began at {from}");
        for (var i = 1; i < events.Count; i++)
        {
            Assert.True(events[i].ModRevision > events[i - 1].ModRevision,
                $"watch events out of order or repeated: {events[i - 1]} then {events[i]}");
        }

        // Restart the killed member from its WAL + snapshot; everyone converges.
        cluster.StartMember(leader);
        await cluster.WaitLeaderAsync();
        foreach (var member in cluster.Members)
        {
            Pb.RangeResponse? range = null;
            await Poll.UntilAsync(async () =>
            {
                range = await Get(member.ClientUrl, "/crash/w", serializable: true);
                return acknowledged.Keys.All(k => range.Kvs.Any(kv => kv.Key.ToStringUtf8() == k));
            }, TimeSpan.FromSeconds(90), $"{member.Name} to hold every acknowledged write");
            foreach (var (key, value) in acknowledged)
            {
                Assert.Equal(value, range!.Kvs.Single(kv => kv.Key.ToStringUtf8() == key).Value.ToStringUtf8());
            }
        }

        var hashes = new List<uint>();
        var revision = (await Get(cluster.Members[0].ClientUrl, "/crash/", false)).Header.Revision;
        foreach (var member in cluster.Members)
        {
            using var channel = new GrpcChannel(member.ClientUrl);
            Pb.HashKVResponse? hash = null;
            await Poll.UntilAsync(async () =>
            {
                hash = await channel.UnaryAsync(EtcdMethods.HashKV, new Pb.HashKVRequest { Revision = revision },
                    Pb.HashKVResponse.Parser, new CallOptions(TimeSpan.FromSeconds(5)));
                return true;
            }, TimeSpan.FromSeconds(60), "HashKV");
            hashes.Add(hash!.Hash);
        }

        Assert.Single(hashes.Distinct());
        Assert.True(Directory.EnumerateFiles(Path.Combine(cluster.Members[leader].DataDir, "member", "snap"), "*.snap").Any(),
            "the killed member had taken snapshots");
    }

    [Fact]
    public async Task A_member_with_a_corrupted_wal_refuses_to_start_naming_file_and_offset_and_is_replaced()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await TryPut(cluster.Members[0].ClientUrl, $"/wal/{i}", "x") || await TryPut(cluster.Members[1].ClientUrl, $"/wal/{i}", "x"));
        }

        await cluster.TerminateAsync(2);
        var segment = Directory.GetFiles(Path.Combine(cluster.Members[2].DataDir, "member", "wal"), "*.wal").Order().First();
        var bytes = File.ReadAllBytes(segment);
        var offset = 8; // the first record, followed by many more: damage in the middle, not a torn tail
        bytes[offset + WalRecord.HeaderBytes + 2] ^= 0x5A;
        File.WriteAllBytes(segment, bytes);

        cluster.StartMember(2);
        var process = cluster.Members[2].Process!;
        await Poll.UntilAsync(() => process.HasExited, TimeSpan.FromSeconds(60), "the corrupted member to exit");
        Assert.Contains($"WAL corrupted: {segment} at byte offset {offset}", process.OutputTail, StringComparison.Ordinal);
        Assert.Contains("Refusing to start", process.OutputTail, StringComparison.Ordinal);
        Assert.Equal(2, process.ExitCode);

        // Replace it as the message says, with the same name and peer URL (an operator replacing a disk).
        var m3 = cluster.Members[2];
        var peer = m3.PeerUrl.ToString().TrimEnd('/');
        var (lcode, list, lerr) = await cluster.EtcdctlAtAsync(0, "member", "list");
        Assert.True(lcode == 0, lerr);
        var oldId = list.Split('\n').Single(l => l.Contains($", {m3.Name}, ", StringComparison.Ordinal)).Split(',')[0];
        await Poll.UntilAsync(async () => (await cluster.EtcdctlAtAsync(0, "member", "remove", oldId)).ExitCode == 0,
            TimeSpan.FromSeconds(60), "member remove of the corrupted member");
        Directory.Delete(m3.DataDir, recursive: true);
        string added = "";
        await Poll.UntilAsync(async () =>
        {
            var (code, stdout, _) = await cluster.EtcdctlAtAsync(0, "member", "add", m3.Name, "--learner", "--peer-urls", peer);
            added = stdout;
            return code == 0;
        }, TimeSpan.FromSeconds(60), "member add --learner of the replacement");
        Assert.Contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\"", added, StringComparison.Ordinal);
        // etcdctl prints the id with %16x: one below 2^60 (1 in 16) is padded with spaces.
        var newId = System.Text.RegularExpressions.Regex.Match(added, @"Member\s+([0-9a-f]+) added").Groups[1].Value;
        Assert.NotEmpty(newId);

        cluster.StartMember(2, "existing");
        await Poll.UntilAsync(async () =>
        {
            var (c, o, _) = await cluster.EtcdctlAtAsync(2, "get", "/wal/4", "--consistency", "s", "--print-value-only");
            return c == 0 && o.Trim() == "x";
        }, TimeSpan.FromSeconds(90), "the replacement learner to catch up\n" + cluster.Logs);
        await Poll.UntilAsync(async () => (await cluster.EtcdctlAtAsync(0, "member", "promote", newId)).ExitCode == 0,
            TimeSpan.FromSeconds(90), "member promote of the replacement");
        (_, list, _) = await cluster.EtcdctlAtAsync(0, "member", "list");
        Assert.Contains($"{newId}, started, {m3.Name}, {peer}, {m3.ClientUrl.ToString().TrimEnd('/')}, false", list, StringComparison.Ordinal);

        // All the data is there: the same keys through the replacement alone, and the same HashKV everywhere.
        var range = await Get(m3.ClientUrl, "/wal/", serializable: true);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"/wal/{i}"), range.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.True(await TryPut(m3.ClientUrl, "/wal/after", "y"), "a write through the promoted replacement");
        var revision = (await Get(cluster.Members[0].ClientUrl, "/wal/", serializable: false)).Header.Revision;
        var hashes = new List<uint>();
        foreach (var member in cluster.Members)
        {
            using var channel = new GrpcChannel(member.ClientUrl);
            Pb.HashKVResponse? hash = null;
            await Poll.UntilAsync(async () =>
            {
                hash = await channel.UnaryAsync(EtcdMethods.HashKV, new Pb.HashKVRequest { Revision = revision },
                    Pb.HashKVResponse.Parser, new CallOptions(TimeSpan.FromSeconds(5)));
                return true;
            }, TimeSpan.FromSeconds(60), $"HashKV of {member.Name}");
            hashes.Add(hash!.Hash);
        }

        Assert.Single(hashes.Distinct());
    }
}
