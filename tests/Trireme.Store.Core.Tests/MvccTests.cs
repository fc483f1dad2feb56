// Proves the key space follows etcd 3.4's MVCC rules, one clause per test: revisions start at 1 and
// each write txn takes one main revision; create/mod revision and version per key; a delete is a
// tombstone and re-creating starts a new generation at version 1; range over a key, prefix,
// [key, end) and from-key with limit/more/count, historical reads, count_only, keys_only, sorting and
// revision filters; put prev_kv/ignore_value/ignore_lease; delete-range with prev_kv; etcd's error
// texts. Expected values are written out by hand from etcd's documented behaviour.
using Trireme.Store.Core;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class MvccTests
{
    [Fact]
    public void A_fresh_store_is_at_revision_1_and_the_first_put_is_revision_2()
    {
        var store = new TestStore();
        Assert.Equal(1, store.Machine.CurrentRevision);
        Assert.Equal(1, store.Range(new RangeRequest { Key = B("a") }).Revision);
        PutResponse put = store.Put("a", "1");
        Assert.Equal(2, put.Revision);
        Assert.Equal(2, store.Machine.CurrentRevision);
    }

    [Fact]
    public void Create_mod_revision_and_version_track_each_key()
    {
        var store = new TestStore();
        store.Put("a", "1");   // rev 2
        store.Put("b", "1");   // rev 3
        store.Put("a", "2");   // rev 4
        KeyValue a = store.Get("a")!;
        Assert.Equal((2L, 4L, 2L, "2"), (a.CreateRevision, a.ModRevision, a.Version, S(a.Value)));
        KeyValue b = store.Get("b")!;
        Assert.Equal((3L, 3L, 1L), (b.CreateRevision, b.ModRevision, b.Version));
    }

    [Fact]
    public void Delete_is_a_tombstone_and_recreating_starts_a_new_generation_at_version_1()
    {
        var store = new TestStore();
        store.Put("k", "1");                       // 2
        store.Put("k", "2");                       // 3
        DeleteRangeResponse deleted = store.Delete("k", prevKv: true); // 4
        Assert.Equal(1, deleted.Deleted);
        Assert.Equal("2", S(Assert.Single(deleted.PrevKvs).Value));
        Assert.Equal(4, deleted.Revision);
        Assert.Null(store.Get("k"));
        store.Put("k", "3");                       // 5
        KeyValue k = store.Get("k")!;
        Assert.Equal((5L, 5L, 1L), (k.CreateRevision, k.ModRevision, k.Version));

        // History: at 3 the old generation, at 4 nothing, at 5 the new one.
        Assert.Equal((2L, 2L), (store.Get("k", 3)!.CreateRevision, store.Get("k", 3)!.Version));
        Assert.Null(store.Get("k", 4));
        Assert.Equal("3", S(store.Get("k", 5)!.Value));
    }

    [Fact]
    public void Deleting_nothing_does_not_advance_the_revision()
    {
        var store = new TestStore();
        store.Put("a", "1");
        DeleteRangeResponse response = store.Delete("zzz");
        Assert.Equal(0, response.Deleted);
        Assert.Equal(2, response.Revision);
        Assert.Equal(2, store.Machine.CurrentRevision);
    }

    [Fact]
    public void Delete_range_removes_every_key_in_one_revision_with_increasing_sub_revisions()
    {
        var store = new TestStore();
        foreach (string k in new[] { "a", "b", "c", "d" })
        {
            store.Put(k, k);
        }

        DeleteRangeResponse response = store.Delete("b", "d", prevKv: true);
        Assert.Equal(2, response.Deleted);
        Assert.Equal(["b", "c"], response.PrevKvs.Select(kv => S(kv.Key)));
        Assert.Equal(6, store.Machine.CurrentRevision);
        Assert.Equal(["a", "d"], store.Keys(new RangeRequest { Key = B("a"), RangeEnd = [0] }));
    }

    [Fact]
    public void Range_over_a_key_a_prefix_an_interval_and_from_key()
    {
        var store = new TestStore();
        foreach (string k in new[] { "a", "foo", "foo/1", "foo/2", "fop", "z" })
        {
            store.Put(k, "v");
        }

        Assert.Equal(["foo"], store.Keys(new RangeRequest { Key = B("foo") }));
        Assert.Equal(["foo", "foo/1", "foo/2"], store.Keys(new RangeRequest { Key = B("foo"), RangeEnd = ByteKeys.PrefixEnd(B("foo")) }));
        Assert.Equal(["foo/1", "foo/2"], store.Keys(new RangeRequest { Key = B("foo/"), RangeEnd = B("foo0") }));
        Assert.Equal(["fop", "z"], store.Keys(new RangeRequest { Key = B("fop"), RangeEnd = [0] }));
        Assert.Equal(6, store.Keys(new RangeRequest { Key = [0], RangeEnd = [0] }).Length);
        Assert.Empty(store.Keys(new RangeRequest { Key = B("z"), RangeEnd = B("a") }));
    }

    [Fact]
    public void Limit_reports_more_and_the_full_count()
    {
        var store = new TestStore();
        for (int i = 0; i < 10; i++)
        {
            store.Put($"k{i}", "v");
        }

        RangeResponse limited = store.Range(new RangeRequest { Key = B("k"), RangeEnd = B("l"), Limit = 3 });
        Assert.Equal(["k0", "k1", "k2"], limited.Kvs.Select(kv => S(kv.Key)));
        Assert.True(limited.More);
        Assert.Equal(10, limited.Count);

        RangeResponse exact = store.Range(new RangeRequest { Key = B("k"), RangeEnd = B("l"), Limit = 10 });
        Assert.False(exact.More);
        Assert.Equal(10, exact.Kvs.Count);
    }

    [Fact]
    public void Count_only_and_keys_only()
    {
        var store = new TestStore();
        store.Put("a", "value-a");
        store.Put("b", "value-b");
        RangeResponse counted = store.Range(new RangeRequest { Key = B("a"), RangeEnd = [0], CountOnly = true });
        Assert.Empty(counted.Kvs);
        Assert.Equal(2, counted.Count);
        RangeResponse keysOnly = store.Range(new RangeRequest { Key = B("a"), RangeEnd = [0], KeysOnly = true });
        Assert.All(keysOnly.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        Assert.Equal(2, keysOnly.Kvs[1].ModRevision - keysOnly.Kvs[0].ModRevision + 1);
    }

    [Fact]
    public void Sorting_by_every_target_both_ways()
    {
        var store = new TestStore();
        store.Put("b", "3");   // 2
        store.Put("a", "1");   // 3
        store.Put("c", "2");   // 4
        store.Put("b", "4");   // 5: b version 2
        RangeRequest Sorted(SortTarget target, SortOrder order) =>
            new() { Key = B("a"), RangeEnd = [0], SortTarget = target, SortOrder = order };

        Assert.Equal(["c", "b", "a"], store.Keys(Sorted(SortTarget.Key, SortOrder.Descend)));
        Assert.Equal(["a", "c", "b"], store.Keys(Sorted(SortTarget.Value, SortOrder.Ascend)));
        Assert.Equal(["b", "a", "c"], store.Keys(Sorted(SortTarget.Create, SortOrder.Ascend)));
        Assert.Equal(["b", "c", "a"], store.Keys(Sorted(SortTarget.Mod, SortOrder.Descend)));
        Assert.Equal(["b", "a", "c"], store.Keys(Sorted(SortTarget.Version, SortOrder.Descend)));
        // A non-KEY target with order NONE sorts ascending, as etcd.
        Assert.Equal(["a", "c", "b"], store.Keys(Sorted(SortTarget.Mod, SortOrder.None)));
        // Sort applies before limit.
        RangeResponse top = store.Range(Sorted(SortTarget.Mod, SortOrder.Descend) is var r
            ? new RangeRequest { Key = r.Key, RangeEnd = r.RangeEnd, SortTarget = r.SortTarget, SortOrder = r.SortOrder, Limit = 1 }
            : r);
        Assert.Equal("b", S(Assert.Single(top.Kvs).Key));
        Assert.True(top.More);
    }

    [Fact]
    public void Min_and_max_revision_filters()
    {
        var store = new TestStore();
        store.Put("a", "1"); // 2
        store.Put("b", "1"); // 3
        store.Put("c", "1"); // 4
        store.Put("a", "2"); // 5
        RangeRequest all = new() { Key = B("a"), RangeEnd = [0] };
        Assert.Equal(["b", "c"], store.Keys(new RangeRequest { Key = all.Key, RangeEnd = all.RangeEnd, MinModRevision = 3, MaxModRevision = 4 }));
        Assert.Equal(["a"], store.Keys(new RangeRequest { Key = all.Key, RangeEnd = all.RangeEnd, MaxCreateRevision = 2 }));
        Assert.Equal(["c"], store.Keys(new RangeRequest { Key = all.Key, RangeEnd = all.RangeEnd, MinCreateRevision = 4 }));
    }

    [Fact]
    public void Historical_reads_and_future_revision_error()
    {
        var store = new TestStore();
        store.Put("a", "1"); // 2
        store.Put("a", "2"); // 3
        Assert.Equal("1", S(store.Get("a", 2)!.Value));
        Assert.Null(store.Get("a", 1));
        (RangeResponse? response, StoreError? error) = store.Machine.Range(new RangeRequest { Key = B("a"), Revision = 4 });
        Assert.Null(response);
        Assert.Equal("etcdserver: mvcc: required revision is a future revision", error!.Message);
        Assert.Equal(GrpcStatusCode.OutOfRange, error.Status);
    }

    [Fact]
    public void Put_prev_kv_returns_the_replaced_version()
    {
        var store = new TestStore();
        Assert.Null(store.Put("a", "1", prevKv: true).PrevKv);
        Assert.Equal("1", S(store.Put("a", "2", prevKv: true).PrevKv!.Value));
        Assert.Null(store.Put("a", "3").PrevKv);
    }

    [Fact]
    public void Ignore_value_and_ignore_lease_keep_the_current_ones()
    {
        var store = new TestStore();
        long lease = store.Grant(60);
        store.Put("a", "keep", lease);
        store.Ok<PutResponse>(new PutRequest { Key = B("a"), IgnoreValue = true, IgnoreLease = true });
        KeyValue a = store.Get("a")!;
        Assert.Equal(("keep", lease, 2L), (S(a.Value), a.Lease, a.Version));
        store.Ok<PutResponse>(new PutRequest { Key = B("a"), Value = B("new"), IgnoreLease = true });
        Assert.Equal(("new", lease), (S(store.Get("a")!.Value), store.Get("a")!.Lease));
    }

    [Theory]
    [InlineData("empty-key", "etcdserver: key is not provided")]
    [InlineData("value-provided", "etcdserver: value is provided")]
    [InlineData("lease-provided", "etcdserver: lease is provided")]
    [InlineData("ignore-on-missing", "etcdserver: key not found")]
    [InlineData("unknown-lease", "etcdserver: requested lease not found")]
    public void Put_errors_carry_etcds_messages(string kind, string message)
    {
        var store = new TestStore();
        PutRequest request = kind switch
        {
            "empty-key" => new PutRequest { Value = B("v") },
            "value-provided" => new PutRequest { Key = B("a"), Value = B("v"), IgnoreValue = true },
            "lease-provided" => new PutRequest { Key = B("a"), Lease = 5, IgnoreLease = true },
            "ignore-on-missing" => new PutRequest { Key = B("a"), IgnoreValue = true },
            _ => new PutRequest { Key = B("a"), Lease = 12345 },
        };
        Assert.Equal(message, store.Fail(request).Message);
        Assert.Equal(1, store.Machine.CurrentRevision);
    }

    [Fact]
    public void Empty_keys_are_refused_for_range_and_delete()
    {
        var store = new TestStore();
        Assert.Equal(StoreError.EmptyKey, store.Machine.Range(new RangeRequest()).Error);
        Assert.Equal(StoreError.EmptyKey, store.Fail(new DeleteRangeRequest()));
    }

    [Fact]
    public void Keys_are_binary_and_ordered_bytewise()
    {
        var store = new TestStore();
        store.Ok<PutResponse>(new PutRequest { Key = [0xff, 0x00], Value = new byte[] { 1 } });
        store.Ok<PutResponse>(new PutRequest { Key = [0x00], Value = new byte[] { 2 } });
        store.Ok<PutResponse>(new PutRequest { Key = [0x7f, 0xff], Value = new byte[] { 3 } });
        RangeResponse all = store.Range(new RangeRequest { Key = [0], RangeEnd = [0] });
        Assert.Equal([2, 3, 1], all.Kvs.Select(kv => (int)kv.Value.Span[0]));
        Assert.Equal([0xff], ByteKeys.PrefixEnd([0xfe, 0xff]));
        Assert.Equal([0], ByteKeys.PrefixEnd([0xff, 0xff]));
    }
}
