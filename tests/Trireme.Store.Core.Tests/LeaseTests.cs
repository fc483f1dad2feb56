// Proves the key leases follow etcd 3.4's lessor: grant with TTL or a requested ID (duplicate → lease
// already exists, too large → too large lease TTL), the minimum TTL rule, IDs chosen from the log index
// identically on every member, revoke deleting all attached keys in one revision, attach/detach as
// puts move keys between leases, and expiry decided only by the primary: ExpiredLeases from ticks
// handed in, Promote extending every lease by an election timeout from its remaining TTL, keep-alive,
// time-to-live with keys, list, and checkpoints carrying remaining TTL through the log.
using Trireme.Store.Core;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class LeaseTests
{
    private const long TicksPerSecond = 10;

    [Fact]
    public void Grant_with_requested_id_and_duplicate_is_refused()
    {
        var store = new TestStore();
        LeaseGrantResponse granted = store.Ok<LeaseGrantResponse>(new LeaseGrantRequest { Id = 42, Ttl = 30 });
        Assert.Equal((42L, 30L), (granted.Id, granted.Ttl));
        StoreError error = store.Fail(new LeaseGrantRequest { Id = 42, Ttl = 30 });
        Assert.Equal("etcdserver: lease already exists", error.Message);
        Assert.Equal(GrpcStatusCode.FailedPrecondition, error.Status);
        Assert.Equal("etcdserver: too large lease TTL", store.Fail(new LeaseGrantRequest { Ttl = 9_000_000_001 }).Message);
    }

    [Fact]
    public void Ttl_is_raised_to_the_minimum_derived_from_the_election_timeout()
    {
        // etcd: minTTL = ceil(((3 × electionTicks) / 2) × heartbeat): 10 ticks × 100 ms → 1.5 s → 2 s.
        Assert.Equal(2, StoreOptions.MinLeaseTtlSecondsFor(10, 100));
        Assert.Equal(8, StoreOptions.MinLeaseTtlSecondsFor(50, 100));
        var store = new TestStore(new StoreOptions { MinLeaseTtlSeconds = 5 });
        Assert.Equal(5, store.Ok<LeaseGrantResponse>(new LeaseGrantRequest { Ttl = 1 }).Ttl);
        Assert.Equal(6, store.Ok<LeaseGrantResponse>(new LeaseGrantRequest { Ttl = 6 }).Ttl);
    }

    [Fact]
    public void Store_chosen_ids_are_positive_and_identical_on_every_member()
    {
        var first = new TestStore();
        var second = new TestStore();
        for (int i = 0; i < 50; i++)
        {
            long a = first.Grant(10);
            long b = second.Grant(10);
            Assert.Equal(a, b);
            Assert.True(a > 0);
        }

        Assert.Equal(50, first.Machine.Leases.Count);
    }

    [Fact]
    public void Revoke_deletes_every_attached_key_in_one_revision()
    {
        var store = new TestStore();
        long lease = store.Grant(60);
        store.Put("b", "1", lease);
        store.Put("a", "1", lease);
        store.Put("other", "1");
        long before = store.Machine.CurrentRevision;
        store.Ok<LeaseRevokeResponse>(new LeaseRevokeRequest { Id = lease });
        Assert.Equal(before + 1, store.Machine.CurrentRevision);
        Assert.Null(store.Get("a"));
        Assert.Null(store.Get("b"));
        Assert.NotNull(store.Get("other"));
        Assert.Null(store.Machine.Leases.Lookup(lease));
        Assert.Equal("etcdserver: requested lease not found", store.Fail(new LeaseRevokeRequest { Id = lease }).Message);
    }

    [Fact]
    public void Puts_move_keys_between_leases_and_deletes_detach_them()
    {
        var store = new TestStore();
        long first = store.Grant(60);
        long second = store.Grant(60);
        store.Put("k", "1", first);
        store.Put("j", "1", first);
        store.Put("k", "2", second);
        Assert.Equal(["j"], store.Machine.TimeToLive(first, 0, withKeys: true)!.Keys.Select(S));
        Assert.Equal(["k"], store.Machine.TimeToLive(second, 0, withKeys: true)!.Keys.Select(S));
        store.Put("k", "3"); // lease 0 detaches
        Assert.Empty(store.Machine.TimeToLive(second, 0, withKeys: true)!.Keys);
        store.Delete("j");
        Assert.Empty(store.Machine.TimeToLive(first, 0, withKeys: true)!.Keys);

        // Revoking a lease whose keys moved away deletes nothing and does not advance the revision.
        long before = store.Machine.CurrentRevision;
        store.Ok<LeaseRevokeResponse>(new LeaseRevokeRequest { Id = first });
        Assert.Equal(before, store.Machine.CurrentRevision);
        Assert.NotNull(store.Get("k"));
    }

    [Fact]
    public void Only_the_primary_expires_leases_and_reports_each_once_per_retry_interval()
    {
        var store = new TestStore();
        long lease = store.Grant(5);
        KeyLeases leases = store.Machine.Leases;
        Assert.Empty(leases.Expired(nowTicks: 1_000_000, max: 10)); // a follower never expires anything

        leases.Promote(nowTicks: 0, extendTicks: 0);
        Assert.Empty(leases.Expired(5 * TicksPerSecond - 1, 10));
        Assert.Equal([lease], leases.Expired(5 * TicksPerSecond, 10));
        Assert.Empty(leases.Expired(5 * TicksPerSecond + 1, 10)); // already reported, revoke in flight
        Assert.Equal([lease], leases.Expired(5 * TicksPerSecond + KeyLeases.ExpiredRetrySeconds * TicksPerSecond, 10));

        // The host turns it into a revoke through the log; then it is gone everywhere.
        store.Ok<LeaseRevokeResponse>(new LeaseRevokeRequest { Id = lease });
        Assert.Empty(leases.Expired(long.MaxValue / 2, 10));
    }

    [Fact]
    public void Keep_alive_renews_on_the_primary_only()
    {
        var store = new TestStore();
        long lease = store.Grant(5);
        KeyLeases leases = store.Machine.Leases;
        Assert.Equal(StoreError.NotPrimary, leases.Renew(lease, 0).Error);
        leases.Promote(0, 0);
        Assert.Equal((5L, (StoreError?)null), leases.Renew(lease, 40));
        Assert.Empty(leases.Expired(40 + 49, 10));
        Assert.Equal([lease], leases.Expired(40 + 50, 10));
        Assert.Equal(StoreError.LeaseNotFound, leases.Renew(lease, 40 + 50).Error);
        Assert.Equal(StoreError.LeaseNotFound, leases.Renew(777, 0).Error);
    }

    [Fact]
    public void Promote_extends_every_lease_by_the_election_timeout_from_its_remaining_ttl()
    {
        var store = new TestStore();
        long full = store.Grant(10);
        long checkpointed = store.Grant(10);
        store.Ok<LeaseCheckpointResponse>(new LeaseCheckpointRequest { Checkpoints = [new LeaseCheckpoint(checkpointed, 3)] });
        KeyLeases leases = store.Machine.Leases;

        const long electionTimeoutTicks = 10;
        leases.Promote(nowTicks: 1000, extendTicks: electionTimeoutTicks);
        Assert.Empty(leases.Expired(1000 + 30 + electionTimeoutTicks - 1, 10));
        Assert.Equal([checkpointed], leases.Expired(1000 + 30 + electionTimeoutTicks, 10));
        // By then the checkpointed one is due for its retry too (its revoke never came); oldest expiry first.
        Assert.Equal([checkpointed, full], leases.Expired(1000 + 100 + electionTimeoutTicks, 10));

        leases.Demote();
        Assert.Empty(leases.Expired(long.MaxValue / 2, 10));
    }

    [Fact]
    public void Time_to_live_reports_remaining_and_granted_ttl()
    {
        var store = new TestStore();
        long lease = store.Grant(30);
        store.Put("x", "1", lease);
        store.Machine.Leases.Promote(0, 0);
        LeaseTimeToLive ttl = store.Machine.TimeToLive(lease, 105, withKeys: true)!;
        Assert.Equal((lease, 19L, 30L), (ttl.Id, ttl.Ttl, ttl.GrantedTtl)); // 19.5 s left, truncated as etcd
        Assert.Equal(["x"], ttl.Keys.Select(S));
        Assert.Empty(store.Machine.TimeToLive(lease, 105, withKeys: false)!.Keys);
        Assert.Null(store.Machine.TimeToLive(999, 0, withKeys: false));
    }

    [Fact]
    public void Leases_list_is_ordered_by_id()
    {
        var store = new TestStore();
        store.Grant(10, id: 30);
        store.Grant(10, id: 10);
        store.Grant(10, id: 20);
        Assert.Equal([10L, 20L, 30L], store.Machine.Leases.All().Select(l => l.Id));
    }

    [Fact]
    public void Checkpoints_offer_remaining_ttls_and_apply_through_the_log()
    {
        var store = new TestStore();
        long lease = store.Grant(10);
        KeyLeases leases = store.Machine.Leases;
        Assert.Empty(leases.Checkpoints(0, 10)); // not primary
        leases.Promote(0, 0);
        Assert.Empty(leases.Checkpoints(0, 10)); // nothing elapsed
        IReadOnlyList<LeaseCheckpoint> offered = leases.Checkpoints(40, 10);
        Assert.Equal([new LeaseCheckpoint(lease, 6)], offered);
        store.Ok<LeaseCheckpointResponse>(new LeaseCheckpointRequest { Checkpoints = offered });
        Assert.Equal(6, leases.Lookup(lease)!.RemainingTtl);
    }
}
