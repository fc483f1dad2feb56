// Proves txn follows etcd 3.4's applier: compares on VALUE, VERSION, CREATE, MOD and LEASE with
// =, !=, <, > (and over a range), the chosen branch's ops run in one revision with sub revisions,
// later ops see earlier writes, nested txns take their path from the pre-txn state, a failing check
// on the chosen path aborts the whole txn, and checkIntervals' duplicate-key rules.
using Trireme.Store.Core;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class TxnTests
{
    private static Compare Cmp(string key, CompareTarget target, CompareResult result, long number = 0, string value = "", string? rangeEnd = null) =>
        new() { Key = B(key), Target = target, Result = result, Number = number, Value = B(value), RangeEnd = rangeEnd is null ? [] : B(rangeEnd) };

    private static PutRequest P(string key, string value) => new() { Key = B(key), Value = B(value) };

    [Theory]
    [InlineData(CompareTarget.Value, CompareResult.Equal, 0, "v1", true)]
    [InlineData(CompareTarget.Value, CompareResult.Greater, 0, "v0", true)]
    [InlineData(CompareTarget.Value, CompareResult.Less, 0, "v0", false)]
    [InlineData(CompareTarget.Value, CompareResult.NotEqual, 0, "v1", false)]
    [InlineData(CompareTarget.Version, CompareResult.Equal, 2, "", true)]
    [InlineData(CompareTarget.Version, CompareResult.Less, 3, "", true)]
    [InlineData(CompareTarget.Create, CompareResult.Equal, 2, "", true)]
    [InlineData(CompareTarget.Mod, CompareResult.Equal, 3, "", true)]
    [InlineData(CompareTarget.Mod, CompareResult.Greater, 3, "", false)]
    [InlineData(CompareTarget.Lease, CompareResult.Equal, 0, "", true)]
    [InlineData(CompareTarget.Lease, CompareResult.NotEqual, 0, "", false)]
    public void Compare_targets_and_results(CompareTarget target, CompareResult result, long number, string value, bool expected)
    {
        var store = new TestStore();
        store.Put("k", "v0"); // 2
        store.Put("k", "v1"); // 3
        TxnResponse txn = store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("k", target, result, number, value)] });
        Assert.Equal(expected, txn.Succeeded);
    }

    [Fact]
    public void Missing_key_fails_value_compares_and_compares_as_zero_otherwise()
    {
        var store = new TestStore();
        Assert.False(store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("nope", CompareTarget.Value, CompareResult.Equal)] }).Succeeded);
        Assert.True(store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("nope", CompareTarget.Version, CompareResult.Equal, 0)] }).Succeeded);
        Assert.True(store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("nope", CompareTarget.Create, CompareResult.Equal, 0)] }).Succeeded);
    }

    [Fact]
    public void A_range_compare_must_hold_for_every_key()
    {
        var store = new TestStore();
        store.Put("a/1", "x");
        store.Put("a/2", "x");
        Assert.True(store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("a/", CompareTarget.Value, CompareResult.Equal, value: "x", rangeEnd: "a0")] }).Succeeded);
        store.Put("a/3", "y");
        Assert.False(store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("a/", CompareTarget.Value, CompareResult.Equal, value: "x", rangeEnd: "a0")] }).Succeeded);
    }

    [Fact]
    public void Branch_ops_share_one_revision_and_later_ops_see_earlier_writes()
    {
        var store = new TestStore();
        store.Put("x", "1"); // 2
        TxnResponse txn = store.Ok<TxnResponse>(new TxnRequest
        {
            Compare = [Cmp("x", CompareTarget.Value, CompareResult.Equal, value: "1")],
            Success = [P("a", "1"), P("b", "1"), new RangeRequest { Key = B("a"), RangeEnd = [0] }, new DeleteRangeRequest { Key = B("x"), PrevKv = true }],
            Failure = [P("fail", "1")],
        });
        Assert.True(txn.Succeeded);
        Assert.Equal(3, txn.Revision);
        Assert.Equal(3, store.Machine.CurrentRevision);
        RangeResponse seen = Assert.IsType<RangeResponse>(txn.Responses[2]);
        Assert.Equal(["a", "b", "x"], seen.Kvs.Select(kv => S(kv.Key)));
        Assert.Equal(1, Assert.IsType<DeleteRangeResponse>(txn.Responses[3]).Deleted);
        Assert.Equal((3L, 3L), (store.Get("a")!.ModRevision, store.Get("b")!.ModRevision));
        Assert.Null(store.Get("fail"));
    }

    [Fact]
    public void Read_only_txn_does_not_advance_the_revision()
    {
        var store = new TestStore();
        store.Put("a", "1");
        TxnResponse txn = store.Ok<TxnResponse>(new TxnRequest { Success = [new RangeRequest { Key = B("a") }] });
        Assert.True(txn.Succeeded);
        Assert.Equal(2, store.Machine.CurrentRevision);
        Assert.Single(Assert.IsType<RangeResponse>(txn.Responses[0]).Kvs);
    }

    [Fact]
    public void Nested_txn_compares_see_the_state_before_the_outer_txn()
    {
        var store = new TestStore();
        TxnResponse txn = store.Ok<TxnResponse>(new TxnRequest
        {
            Success =
            [
                P("a", "1"),
                new TxnRequest
                {
                    // "a" does not exist before the txn, so this compare fails even though the outer put ran first.
                    Compare = [Cmp("a", CompareTarget.Version, CompareResult.Greater, 0)],
                    Success = [P("then", "1")],
                    Failure = [P("else", "1")],
                },
            ],
        });
        TxnResponse nested = Assert.IsType<TxnResponse>(txn.Responses[1]);
        Assert.False(nested.Succeeded);
        Assert.NotNull(store.Get("else"));
        Assert.Null(store.Get("then"));
        Assert.Equal(2, store.Machine.CurrentRevision);
    }

    [Fact]
    public void A_bad_op_on_the_taken_path_aborts_the_whole_txn()
    {
        var store = new TestStore();
        StoreError error = store.Fail(new TxnRequest { Success = [P("a", "1"), new PutRequest { Key = B("b"), Lease = 99 }] });
        Assert.Equal(StoreError.LeaseNotFound, error);
        Assert.Null(store.Get("a"));
        Assert.Equal(1, store.Machine.CurrentRevision);

        // The same bad op on the path not taken does not matter.
        Assert.True(store.Ok<TxnResponse>(new TxnRequest { Success = [P("a", "1")], Failure = [new PutRequest { Key = B("b"), Lease = 99 }] }).Succeeded);
    }

    [Fact]
    public void A_compacted_range_on_the_taken_path_aborts_the_txn()
    {
        var store = new TestStore();
        store.Put("a", "1");
        store.Put("a", "2");
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 3 });
        Assert.Equal(StoreError.Compacted, store.Fail(new TxnRequest { Success = [P("b", "1"), new RangeRequest { Key = B("a"), Revision = 2 }] }));
        Assert.Equal(StoreError.FutureRevision, store.Fail(new TxnRequest { Success = [new RangeRequest { Key = B("a"), Revision = 9 }] }));
    }

    [Fact]
    public void Duplicate_keys_are_rejected_as_etcd_does()
    {
        var store = new TestStore();
        const string duplicate = "etcdserver: duplicate key given in txn request";
        Assert.Equal(duplicate, store.Fail(new TxnRequest { Success = [P("a", "1"), P("a", "2")] }).Message);
        Assert.Equal(duplicate, store.Fail(new TxnRequest { Success = [P("b", "1"), new DeleteRangeRequest { Key = B("a"), RangeEnd = B("c") }] }).Message);
        Assert.Equal(duplicate, store.Fail(new TxnRequest
        {
            Success = [P("a", "1"), new TxnRequest { Success = [P("a", "2")] }],
        }).Message);
        Assert.Equal(duplicate, store.Fail(new TxnRequest
        {
            Success = [new DeleteRangeRequest { Key = B("a") }, new TxnRequest { Failure = [P("a", "2")] }],
        }).Message);

        // Allowed: the same key in both branches, in then/else of one nested txn, or in success and failure.
        store.Ok<TxnResponse>(new TxnRequest { Success = [P("a", "1")], Failure = [P("a", "2")] });
        store.Ok<TxnResponse>(new TxnRequest { Success = [new TxnRequest { Success = [P("a", "1")], Failure = [P("a", "2")] }] });
        // Two deletes may overlap; a "from key" delete does not conflict (etcd reads "\0" literally there).
        store.Ok<TxnResponse>(new TxnRequest { Success = [new DeleteRangeRequest { Key = B("a"), RangeEnd = B("c") }, new DeleteRangeRequest { Key = B("b"), RangeEnd = B("d") }] });
        store.Ok<TxnResponse>(new TxnRequest { Success = [P("b", "1"), new DeleteRangeRequest { Key = B("a"), RangeEnd = [0] }] });
        Assert.Null(store.Get("b")); // ops run in order: the delete saw the put
    }

    [Fact]
    public void Ignore_value_after_a_from_key_delete_in_the_same_txn_does_not_crash()
    {
        // etcd's duplicate check lets this through and etcd then panics; the store must stay up.
        var store = new TestStore();
        store.Put("b", "old");
        store.Ok<TxnResponse>(new TxnRequest
        {
            Success = [new DeleteRangeRequest { Key = B("a"), RangeEnd = [0] }, new PutRequest { Key = B("b"), IgnoreValue = true }],
        });
        Assert.Equal(("", 1L), (S(store.Get("b")!.Value), store.Get("b")!.Version));
    }

    [Fact]
    public void Too_many_ops_and_empty_compare_keys_are_refused()
    {
        var store = new TestStore(new StoreOptions { MaxTxnOps = 4 });
        Assert.Equal(StoreError.TooManyOps, store.Fail(new TxnRequest { Success = [.. Enumerable.Range(0, 5).Select(i => P($"k{i}", "v"))] }));
        Assert.Equal(StoreError.EmptyKey, store.Fail(new TxnRequest { Compare = [Cmp("", CompareTarget.Version, CompareResult.Equal)] }));
        Assert.Equal(StoreError.EmptyKey, store.Fail(new TxnRequest { Success = [new RangeRequest()] }));
    }

    [Fact]
    public void Lease_compare_sees_the_attached_lease()
    {
        var store = new TestStore();
        long lease = store.Grant(100);
        store.Put("a", "1", lease);
        Assert.True(store.Ok<TxnResponse>(new TxnRequest { Compare = [Cmp("a", CompareTarget.Lease, CompareResult.Equal, lease)] }).Succeeded);
    }
}
