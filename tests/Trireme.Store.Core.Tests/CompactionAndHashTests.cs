// Proves compaction and HashKV behave as etcd 3.4's: reads below the compact revision answer
// "required revision has been compacted", reads at it still work, superseded records are physically
// removed while each live key's latest version stays readable, deleted keys vanish from the index,
// and compacting again at or below the last compact revision is refused. The HashKV values are the
// numbers real etcd 3.4.23 printed (`etcdctl endpoint hashkv`) for the same sequence of writes, run
// once on this machine: equal data gives an equal hash across Trireme and etcd.
using Trireme.Store.Core;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class CompactionAndHashTests
{
    [Fact]
    public void Reads_below_the_compact_revision_are_refused_and_at_it_still_work()
    {
        var store = new TestStore();
        store.Put("a", "1"); // 2
        store.Put("a", "2"); // 3
        store.Put("a", "3"); // 4
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 3 });
        Assert.Equal(3, store.Machine.CompactRevision);
        (_, StoreError? error) = store.Machine.Range(new RangeRequest { Key = B("a"), Revision = 2 });
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", error!.Message);
        Assert.Equal("2", S(store.Get("a", 3)!.Value));
        Assert.Equal("3", S(store.Get("a")!.Value));
    }

    [Fact]
    public void Compaction_removes_superseded_records_and_dead_keys_but_keeps_live_ones()
    {
        var store = new TestStore();
        store.Put("live", "1");   // 2
        store.Put("live", "2");   // 3
        store.Put("dead", "1");   // 4
        store.Delete("dead");     // 5
        store.Put("late", "1");   // 6
        long before = store.Machine.AccountedBytes;
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 5 });

        Assert.True(store.Machine.AccountedBytes < before);
        Assert.Equal(2, store.Machine.KeyIndexCount); // "dead" is gone from the index entirely
        KeyValue live = store.Get("live", 5)!;
        Assert.Equal((2L, 3L, 2L), (live.CreateRevision, live.ModRevision, live.Version));
        Assert.Null(store.Get("dead", 5));
        Assert.Equal(2, store.Range(new RangeRequest { Key = [0], RangeEnd = [0] }).Count);
    }

    [Fact]
    public void Compacting_again_at_or_below_the_compact_revision_or_in_the_future_is_refused()
    {
        var store = new TestStore();
        store.Put("a", "1");
        store.Put("a", "2");
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 2 });
        Assert.Equal(StoreError.Compacted, store.Fail(new CompactionRequest { Revision = 2 }));
        Assert.Equal(StoreError.FutureRevision, store.Fail(new CompactionRequest { Revision = 4 }));
    }

    [Fact]
    public void Version_keeps_counting_after_compaction()
    {
        var store = new TestStore();
        store.Put("a", "1");
        store.Put("a", "2");
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 3 });
        store.Put("a", "3");
        KeyValue a = store.Get("a")!;
        Assert.Equal((2L, 3L), (a.CreateRevision, a.Version));
    }

    [Fact]
    public void HashKv_matches_what_etcd_3_4_computed_for_the_same_writes()
    {
        // etcdctl put foo bar; put foo baz; put a 1; del a; put b 2; put c ""  → revisions 2..7
        var store = new TestStore();
        store.Put("foo", "bar");
        store.Put("foo", "baz");
        store.Put("a", "1");
        store.Delete("a");
        store.Put("b", "2");
        store.Put("c", "");
        Assert.Equal(new KvHash(3481952190, -1, 7), store.Machine.HashKv().Hash);
        Assert.Equal(3093655596u, store.Machine.HashKv(4).Hash.Hash);

        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 5 });
        Assert.Equal(new KvHash(1526815167, 5, 7), store.Machine.HashKv().Hash);

        store.Delete("foo");
        store.Put("foo", "again");
        Assert.Equal(new KvHash(1774167785, 5, 9), store.Machine.HashKv().Hash);
    }

    [Fact]
    public void HashKv_errors_for_compacted_and_future_revisions()
    {
        var store = new TestStore();
        store.Put("a", "1");
        store.Put("a", "2");
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 2 });
        Assert.Equal(StoreError.Compacted, store.Machine.HashKv(2).Error);
        Assert.Equal(StoreError.FutureRevision, store.Machine.HashKv(4).Error);
        Assert.Null(store.Machine.HashKv(3).Error);
    }
}
