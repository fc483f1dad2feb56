// Proves the space quota behaves as etcd's: an apply that would pass the quota is refused with
// "etcdserver: mvcc: database space exceeded" and arms NOSPACE (filed under the proposing member);
// while armed, puts, txns with puts and lease grants are refused but reads, deletes and compaction
// work; compaction lowers the accounted size; disarming lets writes through again; alarm
// activate/get/deactivate through the log; CORRUPT refuses KV ops. Accounting formula: docs/store.md.
using Trireme.Store.Core;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class QuotaAndAlarmTests
{
    private static TestStore SmallStore() => new(new StoreOptions { QuotaBytes = 4096 });

    private static void FillUntilRefused(TestStore store)
    {
        for (int i = 0; i < 1000; i++)
        {
            ApplyResult result = store.Apply(new PutRequest { Key = B("key"), Value = new byte[200] }, proposer: 7);
            if (result.Error is not null)
            {
                Assert.Equal("etcdserver: mvcc: database space exceeded", result.Error.Message);
                Assert.Equal(GrpcStatusCode.ResourceExhausted, result.Error.Status);
                return;
            }
        }

        Assert.Fail("quota never reached");
    }

    [Fact]
    public void Default_quota_is_2_GiB()
    {
        Assert.Equal(2L * 1024 * 1024 * 1024, new StoreOptions().QuotaBytes);
    }

    [Fact]
    public void Passing_the_quota_arms_nospace_filed_under_the_proposer_and_blocks_growth()
    {
        TestStore store = SmallStore();
        FillUntilRefused(store);
        Assert.Equal([new AlarmMember(7, AlarmType.NoSpace)], store.Machine.Alarms);
        long revision = store.Machine.CurrentRevision;

        Assert.Equal(StoreError.NoSpace, store.Fail(new PutRequest { Key = B("tiny"), Value = B("x") }));
        Assert.Equal(StoreError.NoSpace, store.Fail(new TxnRequest { Failure = [new PutRequest { Key = B("t"), Value = B("x") }] }));
        Assert.Equal(StoreError.NoSpace, store.Fail(new LeaseGrantRequest { Ttl = 10 }));
        Assert.Equal(revision, store.Machine.CurrentRevision);

        // Reads, read-only txns and deletes still work.
        Assert.NotNull(store.Get("key"));
        store.Ok<TxnResponse>(new TxnRequest { Success = [new RangeRequest { Key = B("key") }] });
        store.Delete("key");
        Assert.False(store.Machine.QuotaAvailable(new PutRequest { Key = B("x") }));
    }

    [Fact]
    public void Compaction_then_disarm_lets_writes_through_again()
    {
        TestStore store = SmallStore();
        FillUntilRefused(store);
        long before = store.Machine.AccountedBytes;
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = store.Machine.CurrentRevision });
        Assert.True(store.Machine.AccountedBytes < before / 4);
        Assert.Equal(StoreError.NoSpace, store.Fail(new PutRequest { Key = B("x"), Value = B("1") })); // still armed

        AlarmResponse disarmed = store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Deactivate, MemberId = 7, Alarm = AlarmType.NoSpace });
        Assert.Equal([new AlarmMember(7, AlarmType.NoSpace)], disarmed.Alarms);
        Assert.Empty(store.Machine.Alarms);
        store.Put("x", "1");
        Assert.True(store.Machine.QuotaAvailable(new PutRequest { Key = B("y"), Value = B("1") }));
    }

    [Fact]
    public void Accounted_size_follows_the_documented_formula()
    {
        var store = new TestStore();
        Assert.Equal(0, store.Machine.AccountedBytes);
        store.Put("k", "v");
        // 17-byte revision key + mvccpb.KeyValue (key 3, create 2, mod 2, version 2, value 3 = 12 bytes) + 64.
        Assert.Equal(17 + 12 + 64, store.Machine.AccountedBytes);
        store.Grant(10);
        Assert.Equal(17 + 12 + 64 + 64, store.Machine.AccountedBytes);
    }

    [Fact]
    public void Alarm_get_activate_and_deactivate_through_the_log()
    {
        var store = new TestStore();
        store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Activate, MemberId = 2, Alarm = AlarmType.NoSpace });
        store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Activate, MemberId = 1, Alarm = AlarmType.NoSpace });
        AlarmResponse all = store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Get });
        Assert.Equal([new AlarmMember(1, AlarmType.NoSpace), new AlarmMember(2, AlarmType.NoSpace)], all.Alarms);
        Assert.Empty(store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Deactivate, MemberId = 3, Alarm = AlarmType.NoSpace }).Alarms);
    }

    [Fact]
    public void Corrupt_alarm_refuses_kv_operations()
    {
        var store = new TestStore();
        store.Put("a", "1");
        store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Activate, MemberId = 1, Alarm = AlarmType.Corrupt });
        Assert.Equal("etcdserver: corrupt cluster", store.Fail(new PutRequest { Key = B("b"), Value = B("1") }).Message);
        Assert.Equal(StoreError.Corrupt, store.Machine.Range(new RangeRequest { Key = B("a") }).Error);
        store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Deactivate, MemberId = 1, Alarm = AlarmType.Corrupt });
        store.Put("b", "1");
    }

    [Fact]
    public void Negative_quota_disables_it()
    {
        var store = new TestStore(new StoreOptions { QuotaBytes = -1 });
        for (int i = 0; i < 100; i++)
        {
            store.Ok<PutResponse>(new PutRequest { Key = B($"k{i}"), Value = new byte[1000] });
        }

        Assert.Empty(store.Machine.Alarms);
    }
}
