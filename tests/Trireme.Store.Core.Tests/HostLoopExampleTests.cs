// Shows, and proves, the loop the store host runs around the state machine with three members and a
// fake log: validate + quota-check + encode on the leader, apply committed entries on every member,
// serve a watch, let the leader's lease clock expire a lease and turn that into a LeaseRevoke entry,
// hand leadership over with Promote (leases extended, not expired at once), and end with every
// member at the same HashKV. It is the executable version of docs/store.md section 1.
using Trireme.Store.Core;
using Trireme.Store.Core.Codec;
using Trireme.Store.Core.Watch;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class HostLoopExampleTests
{
    private const long TicksPerSecond = 10;
    private const long ElectionTimeoutTicks = 10;

    private sealed class Cluster
    {
        public List<byte[]> Log { get; } = [];
        public StoreStateMachine[] Members { get; } = [.. Enumerable.Range(0, 3).Select(_ => new StoreStateMachine())];
        public int Leader { get; set; }

        /// <summary>What the host does for a client request: check, encode, "commit", apply everywhere.</summary>
        public ApplyResult Propose(StoreRequest request, long nowTicks)
        {
            StoreStateMachine leader = Members[Leader];
            if (RequestValidation.Validate(request, leader.Options.MaxTxnOps) is { } invalid)
            {
                throw new InvalidOperationException(invalid.Message); // the host answers the client instead
            }

            Assert.True(leader.QuotaAvailable(request));
            Log.Add(CommandCodec.Encode(new StoreCommand(request, ProposerMemberId: (ulong)Leader + 1)));
            ApplyResult? leaderResult = null;
            for (int m = 0; m < Members.Length; m++)
            {
                ApplyResult result = Members[m].Apply(Log.Count, Log[^1], nowTicks);
                leaderResult = m == Leader ? result : leaderResult;
            }

            return leaderResult!;
        }
    }

    [Fact]
    public void Three_members_agree_through_writes_a_watch_lease_expiry_and_a_leader_change()
    {
        var cluster = new Cluster();
        long now = 0;
        cluster.Members[0].Promote(now, ElectionTimeoutTicks);

        WatchHub watches = cluster.Members[0].Watches;
        (long watcher, _) = watches.Create(new WatchCreateRequest { Key = B("/svc/"), RangeEnd = ByteKeys.PrefixEnd(B("/svc/")), PrevKv = true });

        var grant = (LeaseGrantResponse)cluster.Propose(new LeaseGrantRequest { Ttl = 5 }, now).Response!;
        cluster.Propose(new PutRequest { Key = B("/svc/a"), Value = B("10.0.0.1"), Lease = grant.Id }, now);
        cluster.Propose(new PutRequest { Key = B("/svc/b"), Value = B("10.0.0.2") }, now);

        // The leader's clock runs; nobody keeps the lease alive; the leader proposes its revoke.
        IReadOnlyList<long> expired = [];
        while (expired.Count == 0)
        {
            now++;
            expired = cluster.Members[0].ExpiredLeases(now);
        }

        Assert.Equal(5 * TicksPerSecond, now);
        foreach (long id in expired)
        {
            cluster.Propose(new LeaseRevokeRequest { Id = id }, now);
        }

        List<WatchEvent> events = [.. watches.TakeReady().SelectMany(r => r.Events)];
        Assert.Equal([(WatchEventType.Put, "/svc/a"), (WatchEventType.Put, "/svc/b"), (WatchEventType.Delete, "/svc/a")],
            events.Select(e => (e.Type, S(e.Kv.Key))));
        Assert.Equal("10.0.0.1", S(events[2].PrevKv!.Value));
        Assert.Empty(watches.Ready);
        Assert.True(watches.IsSynced(watcher));

        // A second lease, then the leader dies: member 1 takes over and extends instead of expiring.
        var second = (LeaseGrantResponse)cluster.Propose(new LeaseGrantRequest { Ttl = 5 }, now).Response!;
        cluster.Members[0].Demote();
        now += 100; // a long election: far beyond the lease's TTL
        cluster.Leader = 1;
        cluster.Members[1].Promote(now, ElectionTimeoutTicks);
        Assert.Empty(cluster.Members[1].ExpiredLeases(now));
        Assert.Equal((5L, (StoreError?)null), cluster.Members[1].RenewLease(second.Id, now)); // the client's keep-alive reaches the new leader

        KvHash hash = cluster.Members[0].HashKv().Hash;
        Assert.All(cluster.Members, m => Assert.Equal(hash, m.HashKv().Hash));
        Assert.All(cluster.Members, m => Assert.Equal(cluster.Members[0].Snapshot(), m.Snapshot()));
    }
}
