// Proves, with real `trireme store` processes, that kill -9 of the leader and of random members (never
// more than a minority down at once, each restarted from its WAL + snapshots; --snapshot-count is small
// so snapshots, log compaction and snapshot transfer really happen) keeps the store linearizable:
// several concurrent clients do puts, linearizable gets, compare-and-swaps (txn on value, on
// mod_revision, or on create_revision = 0 for "absent") and deletes on a few shared keys through
// different members; every call's invocation/return and outcome is recorded (a timeout is a pending
// operation, see KvHistoryRecorder) and the whole history is checked by Trireme.Linearizability's
// checker with its key-value model. After healing: every acknowledged write to a unique key is on every
// member, every member reports the same HashKV at one revision, and a real etcdctl `watch --rev 1
// --prev-kv -w json` running throughout delivered every acknowledged write under its prefix, in strictly
// increasing revision order (odd rounds kill the members in turn, so its own member is killed too).
// Default: 3 members, up to 6 kill rounds in about 50 s of faults. TRIREME_SOAK=1: 5 members (up to 2
// down at once), 25 rounds, about 5 minutes. Skips when etcdctl is missing (like the other process tests).
using System.Collections.Concurrent;
using System.Globalization;
using Google.Protobuf;
using Trireme.Grpc.Client;
using Trireme.Linearizability;
using Trireme.Store.Api;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests.Faults;

public sealed class KillLinearizabilityTests(ITestOutputHelper output)
{
    private sealed record Settings(int Members, int Rounds, TimeSpan FaultBudget, int Clients, int MaxDown)
    {
        public static Settings FromEnvironment() =>
            Environment.GetEnvironmentVariable("TRIREME_SOAK") == "1"
                ? new Settings(Members: 5, Rounds: 25, FaultBudget: TimeSpan.FromMinutes(5), Clients: 8, MaxDown: 2)
                : new Settings(Members: 3, Rounds: 6, FaultBudget: TimeSpan.FromSeconds(50), Clients: 5, MaxDown: 1);
    }

    private static readonly string[] _keys = ["/lin/k0", "/lin/k1", "/lin/k2"];
    private const string AckPrefix = "/lin/ack/";

    /// <summary>Per call: long enough for an election on a loaded machine, short enough that a call stuck
    /// on a killed member turns into a pending operation instead of stalling its client.</summary>
    private static readonly TimeSpan _callTimeout = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task Kill_9_of_leader_and_random_members_keeps_history_linearizable_and_members_convergent()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        var settings = Settings.FromEnvironment();
        var seed = Environment.TickCount;
        output.WriteLine($"settings {settings}, seed {seed}");
        await using var cluster = await TriremeStoreCluster.StartAsync(settings.Members, snapshotCount: 100);
        var channels = cluster.Members.ToDictionary(m => m.ClientUrl, m => new GrpcChannel(m.ClientUrl));
        // Real etcdctl watches client 0's unique keys from revision 1 through all the kills. Its output goes
        // to a file (the shell execs etcdctl, so the PID killed at the end is etcdctl's own): a soak run
        // prints more than the bounded output tail keeps.
        using var watchDir = new TempDirectory("trireme-lin-watch");
        var watchFile = Path.Combine(watchDir.Path, "watch.json");
        using var watch = ChildProcess.Start("/bin/sh",
            ["-c", "exec \"$0\" \"$@\" > \"$WATCH_FILE\"", EtcdCluster.EtcdctlPath!,
             "--endpoints", string.Join(",", cluster.Members.Select(m => EtcdCluster.Url(m.ClientUrl))),
             "watch", WatchedPrefix, "--prefix", "--rev", "1", "--prev-kv", "-w", "json"],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3", ["WATCH_FILE"] = watchFile });
        try
        {
            var recorder = new KvHistoryRecorder();
            var acknowledged = new ConcurrentDictionary<string, string>();
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, settings.Clients)
                .Select(c => Task.Run(() => new Worker(c, seed + c, cluster, channels, recorder, acknowledged).RunAsync(stop.Token)))
                .ToList();
            int kills;
            try
            {
                kills = await NemesisAsync(cluster, settings, new Random(seed));
            }
            finally
            {
                await stop.CancelAsync();
                await Task.WhenAll(workers);
            }

            await cluster.WaitLeaderAsync();
            await FinalReadsAsync(cluster, channels, recorder);
            var history = recorder.History;
            output.WriteLine($"kills {kills}; operations: {recorder.CompletedCount} completed, {recorder.PendingCount} pending, " +
                $"{recorder.Dropped} dropped; {acknowledged.Count} acknowledged unique writes");

            var result = LinearizabilityChecker.Check(KvModel.Instance, history);
            output.WriteLine(result.Explain());
            Assert.True(result.Verdict == Verdict.Linearizable, result.Explain() + "\n" + cluster.Logs);

            // The run must have exercised something, or a pass proves nothing.
            Assert.True(kills >= Math.Min(3, settings.Rounds), $"only {kills} kills");
            Assert.True(recorder.CompletedCount >= 30, $"only {recorder.CompletedCount} operations completed");
            Assert.True(history.Any(op => op is { Input.Kind: KvOpKind.CompareAndSwap, IsPending: false, Output.Succeeded: true }),
                "no compare-and-swap succeeded");

            await AssertEveryAcknowledgedWriteOnEveryMemberAsync(cluster, channels, acknowledged);
            await AssertSameHashKvAsync(cluster, channels);
            await AssertWatchDeliveredEveryWriteOnceInOrderAsync(watchFile, acknowledged);
        }
        finally
        {
            foreach (var channel in channels.Values)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>Kills (SIGKILL) the leader on even rounds and the members in turn on odd ones (plus, with 5
    /// members, sometimes one more at random), keeps them down a moment, restarts them and waits until they
    /// serve again, so at most MaxDown are ever down.</summary>
    private async Task<int> NemesisAsync(TriremeStoreCluster cluster, Settings settings, Random random)
    {
        var deadline = DateTime.UtcNow + settings.FaultBudget;
        var kills = 0;
        for (var round = 0; round < settings.Rounds && DateTime.UtcNow < deadline; round++)
        {
            await Task.Delay(random.Next(1000, 2500)); // let the clients run between faults
            var victims = new List<int>();
            if (round % 2 == 0)
            {
                try
                {
                    victims.Add(await cluster.WaitLeaderAsync(TimeSpan.FromSeconds(20)));
                }
                catch (TimeoutException)
                {
                    // No agreed leader right now: kill a random member instead.
                }
            }

            if (round % 2 == 1)
            {
                // Odd rounds take the members in turn, so every member (whichever one etcdctl's watch
                // is connected to, too) is killed at least once in 2 × Members rounds.
                victims.Add(round / 2 % settings.Members);
            }

            var down = victims.Count == 0 ? 1 : random.Next(victims.Count, settings.MaxDown + 1);
            while (victims.Count < down)
            {
                var candidate = random.Next(settings.Members);
                if (!victims.Contains(candidate))
                {
                    victims.Add(candidate);
                }
            }

            foreach (var victim in victims)
            {
                cluster.Kill(victim);
                kills++;
            }

            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} round {round}: killed {string.Join(",", victims.Select(v => cluster.Members[v].Name))}" +
                (round % 2 == 0 ? " (leader first)" : ""));
            await Task.Delay(random.Next(300, 2000)); // down time
            foreach (var victim in victims)
            {
                cluster.StartMember(victim);
            }

            foreach (var victim in victims)
            {
                var url = cluster.Members[victim].ClientUrl;
                await Poll.UntilAsync(async () => (await TriremeStoreCluster.StatusAsync(url)).Header.MemberId != 0,
                    TimeSpan.FromSeconds(90), $"{cluster.Members[victim].Name} to serve again after restart");
            }
        }

        return kills;
    }

    /// <summary>One client: a seeded mix of operations on shared keys through random live members, plus a
    /// unique-key write every few operations whose acknowledgement is remembered for the durability check.</summary>
    private sealed class Worker(int id, int seed, TriremeStoreCluster cluster, Dictionary<Uri, GrpcChannel> channels,
        KvHistoryRecorder recorder, ConcurrentDictionary<string, string> acknowledged)
    {
        private const int MaxOperations = 5_000; // bounds the loop even if the stop signal were lost
        private readonly Random _random = new(seed);

        // What this client last knew of each key: value and its mod_revision (null = believed absent).
        // Values are unique per write, so "mod_revision == R" and "value == V" name the same state.
        private readonly Dictionary<string, (string Value, long ModRevision)?> _seen = [];

        public async Task RunAsync(CancellationToken stop)
        {
            for (var n = 0; n < MaxOperations && !stop.IsCancellationRequested; n++)
            {
                var live = cluster.Members.Where(m => m.IsRunning).ToList();
                if (live.Count == 0)
                {
                    await Task.Delay(100, CancellationToken.None);
                    continue;
                }

                var channel = channels[live[_random.Next(live.Count)].ClientUrl];
                var key = _keys[_random.Next(_keys.Length)];
                var roll = _random.Next(100);
                var value = string.Create(CultureInfo.InvariantCulture, $"c{id}-{n}");
                var answered = roll switch
                {
                    < 40 => await GetAsync(channel, key),
                    < 65 => await PutAsync(channel, key, value),
                    < 95 => await CompareAndSwapAsync(channel, key, value),
                    _ => await DeleteAsync(channel, key),
                };
                if (n % 4 == 3)
                {
                    answered &= await AckWriteAsync(channel, $"{AckPrefix}c{id}/{n:D5}", value);
                }

                if (!answered)
                {
                    await Task.Delay(_random.Next(50, 200), CancellationToken.None); // back off a failing member
                }
            }
        }

        private async Task<bool> GetAsync(GrpcChannel channel, string key)
        {
            var modRevision = 0L;
            var result = await recorder.RecordAsync(id, KvInput.Get(key), async () =>
            {
                var response = await channel.UnaryAsync(EtcdMethods.KVRange, new Pb.RangeRequest { Key = Bytes(key) },
                    Pb.RangeResponse.Parser, new CallOptions(_callTimeout));
                if (response.Kvs.Count == 0)
                {
                    return KvOutput.Read(null);
                }

                modRevision = response.Kvs[0].ModRevision;
                return KvOutput.Read(response.Kvs[0].Value.ToStringUtf8());
            });
            if (result is { } read)
            {
                _seen[key] = read.Value is null ? null : (read.Value, modRevision);
            }

            return result is not null;
        }

        private async Task<bool> PutAsync(GrpcChannel channel, string key, string value)
        {
            var revision = 0L;
            var result = await recorder.RecordAsync(id, KvInput.Put(key, value), async () =>
            {
                var response = await channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = Bytes(key), Value = Bytes(value) },
                    Pb.PutResponse.Parser, new CallOptions(_callTimeout));
                revision = response.Header.Revision;
                return KvOutput.Done;
            });
            if (result is not null)
            {
                _seen[key] = (value, revision);
            }

            return result is not null;
        }

        private async Task<bool> DeleteAsync(GrpcChannel channel, string key)
        {
            var result = await recorder.RecordAsync(id, KvInput.Delete(key), async () =>
            {
                await channel.UnaryAsync(EtcdMethods.KVDeleteRange, new Pb.DeleteRangeRequest { Key = Bytes(key) },
                    Pb.DeleteRangeResponse.Parser, new CallOptions(_callTimeout));
                return KvOutput.Done;
            });
            if (result is not null)
            {
                _seen[key] = null;
            }

            return result is not null;
        }

        /// <summary>CAS from what this client last saw: on the value, on the mod_revision, or (key believed
        /// absent) on create_revision = 0 — etcd's compare on a missing key's value is always false.</summary>
        private async Task<bool> CompareAndSwapAsync(GrpcChannel channel, string key, string value)
        {
            var expected = _seen.GetValueOrDefault(key);
            var compare = new Pb.Compare { Key = Bytes(key), Result = Pb.Compare.Types.CompareResult.Equal };
            if (expected is not { } seen)
            {
                compare.Target = Pb.Compare.Types.CompareTarget.Create;
                compare.CreateRevision = 0;
            }
            else if (_random.Next(2) == 0)
            {
                compare.Target = Pb.Compare.Types.CompareTarget.Mod;
                compare.ModRevision = seen.ModRevision;
            }
            else
            {
                compare.Target = Pb.Compare.Types.CompareTarget.Value;
                compare.Value = Bytes(seen.Value);
            }

            var txn = new Pb.TxnRequest();
            txn.Compare.Add(compare);
            txn.Success.Add(new Pb.RequestOp { RequestPut = new Pb.PutRequest { Key = Bytes(key), Value = Bytes(value) } });
            txn.Failure.Add(new Pb.RequestOp { RequestRange = new Pb.RangeRequest { Key = Bytes(key) } });
            Pb.TxnResponse? response = null;
            var result = await recorder.RecordAsync(id, KvInput.Cas(key, expected?.Value, value), async () =>
            {
                response = await channel.UnaryAsync(EtcdMethods.KVTxn, txn, Pb.TxnResponse.Parser, new CallOptions(_callTimeout));
                return KvOutput.Swapped(response.Succeeded);
            });
            if (response is not null)
            {
                // Learn the current state from the failure branch's read so later swaps can succeed.
                // (Not part of the checked output: the model's CAS answers only swapped or not.)
                _seen[key] = response.Succeeded
                    ? (value, response.Header.Revision)
                    : response.Responses[0].ResponseRange.Kvs is { Count: > 0 } kvs
                        ? (kvs[0].Value.ToStringUtf8(), kvs[0].ModRevision)
                        : null;
            }

            return result is not null;
        }

        private async Task<bool> AckWriteAsync(GrpcChannel channel, string key, string value)
        {
            try
            {
                await channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = Bytes(key), Value = Bytes(value) },
                    Pb.PutResponse.Parser, new CallOptions(_callTimeout));
                acknowledged[key] = value;
                return true;
            }
            catch (Exception e) when (KvHistoryRecorder.IsCallFailure(e))
            {
                return false;
            }
        }
    }

    /// <summary>After healing, one completed linearizable read per key ends the history, so a lost write
    /// shows up as a read the checker cannot explain.</summary>
    private static async Task FinalReadsAsync(TriremeStoreCluster cluster, Dictionary<Uri, GrpcChannel> channels, KvHistoryRecorder recorder)
    {
        const int finalClient = 1000;
        foreach (var key in _keys)
        {
            var attempt = 0;
            await Poll.UntilAsync(async () =>
            {
                var channel = channels[cluster.Members[attempt++ % cluster.Members.Count].ClientUrl];
                return await recorder.RecordAsync(finalClient, KvInput.Get(key), async () =>
                {
                    var response = await channel.UnaryAsync(EtcdMethods.KVRange, new Pb.RangeRequest { Key = Bytes(key) },
                        Pb.RangeResponse.Parser, new CallOptions(_callTimeout));
                    return KvOutput.Read(response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8());
                }) is not null;
            }, TimeSpan.FromSeconds(90), $"a final linearizable read of {key}");
        }
    }

    private static async Task AssertEveryAcknowledgedWriteOnEveryMemberAsync(TriremeStoreCluster cluster,
        Dictionary<Uri, GrpcChannel> channels, ConcurrentDictionary<string, string> acknowledged)
    {
        Assert.NotEmpty(acknowledged);
        foreach (var member in cluster.Members)
        {
            Dictionary<string, string> held = [];
            await Poll.UntilAsync(async () =>
            {
                // Serializable: this member's own applied state, not the leader's.
                var response = await channels[member.ClientUrl].UnaryAsync(EtcdMethods.KVRange,
                    new Pb.RangeRequest { Key = Bytes(AckPrefix), RangeEnd = Bytes("/lin/ack0"), Serializable = true },
                    Pb.RangeResponse.Parser, new CallOptions(_callTimeout));
                held = response.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.Value.ToStringUtf8());
                return acknowledged.Keys.All(held.ContainsKey);
            }, TimeSpan.FromSeconds(90), $"{member.Name} to hold every acknowledged write");
            foreach (var (key, value) in acknowledged)
            {
                Assert.Equal(value, held[key]);
            }
        }
    }

    private static async Task AssertSameHashKvAsync(TriremeStoreCluster cluster, Dictionary<Uri, GrpcChannel> channels)
    {
        // No writes run any more: the highest revision any member reports is the cluster's last one.
        var revision = 0L;
        foreach (var member in cluster.Members)
        {
            await Poll.UntilAsync(async () =>
            {
                revision = Math.Max(revision, (await TriremeStoreCluster.StatusAsync(member.ClientUrl)).Header.Revision);
                return true;
            }, TimeSpan.FromSeconds(60), $"status of {member.Name}");
        }

        var hashes = new List<(string Member, uint Hash, long CompactRevision)>();
        foreach (var member in cluster.Members)
        {
            Pb.HashKVResponse? hash = null;
            // A member that has not applied `revision` yet answers "future revision": poll until it has.
            await Poll.UntilAsync(async () =>
            {
                hash = await channels[member.ClientUrl].UnaryAsync(EtcdMethods.HashKV, new Pb.HashKVRequest { Revision = revision },
                    Pb.HashKVResponse.Parser, new CallOptions(_callTimeout));
                return true;
            }, TimeSpan.FromSeconds(90), $"HashKV of {member.Name} at revision {revision}");
            hashes.Add((member.Name, hash!.Hash, hash.CompactRevision));
        }

        Assert.True(hashes.Select(h => (h.Hash, h.CompactRevision)).Distinct().Count() == 1,
            $"HashKV at revision {revision} differs: {string.Join(", ", hashes)}");
    }

    private const string WatchedPrefix = AckPrefix + "c0/";

    /// <summary>Every acknowledged write under the watched prefix arrived, and mod_revisions strictly
    /// increase: nothing missed or repeated while etcdctl's member was killed and it resumed elsewhere.</summary>
    private static async Task AssertWatchDeliveredEveryWriteOnceInOrderAsync(string watchFile, ConcurrentDictionary<string, string> acknowledged)
    {
        var expected = acknowledged.Keys.Where(k => k.StartsWith(WatchedPrefix, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(expected);
        List<(string Key, long ModRevision)> events = [];
        await Poll.UntilAsync(() =>
        {
            // Only whole lines: etcdctl may be writing the last one.
            var text = File.ReadAllText(watchFile);
            events = EtcdctlJson.WatchEvents(text[..(text.LastIndexOf('\n') + 1)]);
            return expected.All(k => events.Any(e => e.Key == k));
        }, TimeSpan.FromSeconds(90), "etcdctl's watch to deliver every acknowledged write under " + WatchedPrefix);
        for (var i = 1; i < events.Count; i++)
        {
            Assert.True(events[i].ModRevision > events[i - 1].ModRevision, $"watch events out of order or repeated: {events[i - 1]} then {events[i]}");
        }
    }

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);
}
