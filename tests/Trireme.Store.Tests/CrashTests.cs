// Proves crash safety with real processes: kill -9 of the leader while 4 clients write loses no
// acknowledged write, the killed member restarts from its WAL + snapshot (snapshot-count is small so
// snapshots and log compaction really happen) and converges to the same HashKV as the others; a watch
// opened by real etcdctl keeps delivering across the leader kill; a member whose WAL is corrupted in the
// middle refuses to start with a message naming the file and byte offset.
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
    public async Task A_member_with_a_corrupted_wal_refuses_to_start_naming_file_and_offset()
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
    }
}
