// Proves members agree: random command sequences (puts with leases and flags, deletes, txns with
// compares and nested txns, compactions, lease grants/revokes/checkpoints, alarms, undecodable
// entries) applied to independent instances give equal HashKV and byte-identical snapshots; an
// instance restored from a snapshot midway and fed the rest of the log ends identical; replaying
// entries at or below the applied index (crash recovery) changes nothing. Also: snapshots round-trip
// exactly, a view captured for background encoding keeps the state at capture, and corrupt
// snapshots are refused without touching the instance.
using Trireme.Store.Core;
using Trireme.Store.Core.Codec;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class DeterminismAndSnapshotTests
{
    private static readonly StoreOptions SmallQuota = new() { QuotaBytes = 256 * 1024 };

    internal static List<byte[]> RandomLog(int seed, int entries)
    {
        var random = new Random(seed);
        var log = new List<byte[]>(entries);
        long revisionGuess = 1;
        byte[] Key() => B($"k{random.Next(40):D2}");
        byte[] Value() => B(new string('v', random.Next(0, 40)));
        long Lease() => random.Next(4) == 0 ? random.Next(1, 6) : 0;
        PutRequest Put() => new()
        {
            Key = Key(), Value = Value(), Lease = Lease(), PrevKv = random.Next(2) == 0,
            IgnoreLease = random.Next(10) == 0,
        };
        Compare RandomCompare() => new()
        {
            Key = Key(), Target = (CompareTarget)random.Next(5), Result = (CompareResult)random.Next(4),
            Number = random.Next(0, 30), Value = Value(), RangeEnd = random.Next(4) == 0 ? [0] : [],
        };

        for (int i = 0; i < entries; i++)
        {
            int kind = random.Next(100);
            StoreRequest request = kind switch
            {
                < 40 => Put(),
                < 52 => new DeleteRangeRequest { Key = Key(), RangeEnd = random.Next(3) == 0 ? Key() : [], PrevKv = true },
                < 70 => new TxnRequest
                {
                    Compare = [.. Enumerable.Range(0, random.Next(3)).Select(_ => RandomCompare())],
                    Success = [Put(), new RangeRequest { Key = Key(), RangeEnd = [0], Limit = random.Next(3) }],
                    Failure = [new DeleteRangeRequest { Key = Key() }, new TxnRequest { Compare = [RandomCompare()], Success = [Put()] }],
                },
                < 76 => new CompactionRequest { Revision = Math.Max(1, revisionGuess - random.Next(0, 30)) },
                < 84 => new LeaseGrantRequest { Ttl = random.Next(1, 100), Id = random.Next(3) == 0 ? 0 : random.Next(1, 6) },
                < 89 => new LeaseRevokeRequest { Id = random.Next(1, 6) },
                < 92 => new LeaseCheckpointRequest { Checkpoints = [new LeaseCheckpoint(random.Next(1, 6), random.Next(1, 50))] },
                < 95 => new AlarmRequest
                {
                    // Mostly disarming, so armed alarms do not freeze the run.
                    Action = random.Next(4) switch { 0 => AlarmAction.Get, 1 => AlarmAction.Activate, _ => AlarmAction.Deactivate },
                    MemberId = (ulong)random.Next(1, 3),
                    Alarm = AlarmType.NoSpace, // CORRUPT would freeze the rest of the run; QuotaAndAlarmTests covers it
                },
                < 98 => new RangeRequest { Key = Key(), RangeEnd = [0], Revision = random.Next(0, (int)revisionGuess + 2) },
                _ => new PutRequest { Key = [], Value = Value() },
            };
            revisionGuess += request is PutRequest or TxnRequest or DeleteRangeRequest ? 1 : 0;
            log.Add(random.Next(200) == 0 ? [1, 99] : CommandCodec.Encode(new StoreCommand(request, (ulong)random.Next(1, 4))));
        }

        return log;
    }

    private static void Feed(StoreStateMachine machine, List<byte[]> log, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            machine.Apply(i + 1, log[i], nowTicks: 0);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Same_log_gives_same_state_including_restore_midway_and_replay(int seed)
    {
        List<byte[]> log = RandomLog(seed, 1500);
        var a = new StoreStateMachine(SmallQuota);
        var b = new StoreStateMachine(SmallQuota);
        var restored = new StoreStateMachine(SmallQuota);
        int midway = 400 + (seed * 97 % 600);

        Feed(a, log, 0, midway);
        for (int i = 0; i < midway; i++)
        {
            b.Apply(i + 1, log[i], 0);
            Assert.True(b.Apply(i + 1, log[i], 0).Skipped); // a duplicate delivery does nothing
        }

        Assert.Equal(a.Snapshot(), b.Snapshot());
        restored.RestoreSnapshot(new MemoryStream(a.Snapshot()));
        Assert.Equal(a.Snapshot(), restored.Snapshot());

        // Crash recovery: the restored member replays the whole log; what the snapshot covers is skipped.
        Feed(a, log, midway, log.Count);
        Feed(b, log, midway, log.Count);
        int skipped = 0;
        for (int i = 0; i < log.Count; i++)
        {
            skipped += restored.Apply(i + 1, log[i], 0).Skipped ? 1 : 0;
        }

        Assert.Equal(midway, skipped);
        Assert.Equal(a.HashKv(), b.HashKv());
        Assert.Equal(a.HashKv(), restored.HashKv());
        Assert.Equal(a.Snapshot(), b.Snapshot());
        Assert.Equal(a.Snapshot(), restored.Snapshot());
        Assert.True(a.CurrentRevision > 100, $"the log wrote too little to prove anything: revision {a.CurrentRevision}, alarms {a.Alarms.Count}, bytes {a.AccountedBytes}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_captured_view_encodes_the_state_at_capture_while_the_machine_moves_on(int seed)
    {
        // The host encodes the view on another thread while the loop keeps applying (and compacting):
        // the bytes must be those of the state at capture, whatever happened after it.
        List<byte[]> log = RandomLog(seed, 1500);
        var a = new StoreStateMachine(SmallQuota);
        Feed(a, log, 0, 700);
        byte[] expected = a.Snapshot();
        StoreSnapshotView view = a.CaptureSnapshot();
        Feed(a, log, 700, log.Count);
        Assert.Equal(700, view.AppliedIndex);
        Assert.Equal(expected, view.Encode());
        Assert.NotEqual(expected, a.Snapshot());
    }

    [Fact]
    public void A_view_encoded_after_a_reserved_prefix_is_the_same_snapshot_after_that_many_zero_bytes()
    {
        // The host puts its member list in front of the store snapshot without another copy.
        var a = new StoreStateMachine(SmallQuota);
        Feed(a, RandomLog(3, 400), 0, 400);
        StoreSnapshotView view = a.CaptureSnapshot();
        byte[] plain = view.Encode();
        byte[] prefixed = view.Encode(reservedPrefixBytes: 37);
        Assert.Equal(37 + plain.Length, prefixed.Length);
        Assert.All(prefixed[..37], b => Assert.Equal(0, b));
        Assert.Equal(plain, prefixed[37..]);
        var restored = new StoreStateMachine(SmallQuota);
        restored.RestoreSnapshot(prefixed.AsSpan(37));
        Assert.Equal(a.HashKv(), restored.HashKv());
        Assert.Throws<ArgumentOutOfRangeException>(() => view.Encode(-1));
    }

    [Fact]
    public void Applying_the_same_entry_twice_is_ignored()
    {
        var store = new TestStore();
        byte[] put = CommandCodec.Encode(new StoreCommand(new PutRequest { Key = B("a"), Value = B("1") }));
        Assert.False(store.Machine.Apply(5, put, 0).Skipped);
        Assert.True(store.Machine.Apply(5, put, 0).Skipped);
        Assert.True(store.Machine.Apply(3, put, 0).Skipped);
        Assert.Equal(2, store.Machine.CurrentRevision);
        store.Machine.MarkApplied(9);
        Assert.True(store.Machine.Apply(9, put, 0).Skipped);
        Assert.Equal(9, store.Machine.AppliedIndex);
    }

    [Fact]
    public void Snapshot_restores_keys_revisions_leases_alarms_and_applied_index_exactly()
    {
        var store = new TestStore();
        long lease = store.Grant(30);
        store.Put("a", "1", lease);
        store.Put("b", "1");
        store.Put("b", "2");
        store.Delete("a");
        store.Put("a", "again", lease);
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 4 });
        store.Ok<LeaseCheckpointResponse>(new LeaseCheckpointRequest { Checkpoints = [new LeaseCheckpoint(lease, 12)] });
        store.Ok<AlarmResponse>(new AlarmRequest { Action = AlarmAction.Activate, MemberId = 3, Alarm = AlarmType.NoSpace });

        var copy = new StoreStateMachine();
        var stream = new MemoryStream();
        store.Machine.WriteSnapshot(stream);
        stream.Position = 0;
        copy.RestoreSnapshot(stream);

        Assert.Equal(store.Machine.AppliedIndex, copy.AppliedIndex);
        Assert.Equal((store.Machine.CurrentRevision, 4L), (copy.CurrentRevision, copy.CompactRevision));
        Assert.Equal(store.Machine.HashKv(), copy.HashKv());
        Assert.Equal(store.Machine.AccountedBytes, copy.AccountedBytes);
        Assert.Equal([new AlarmMember(3, AlarmType.NoSpace)], copy.Alarms);
        LeaseTimeToLive ttl = copy.TimeToLive(lease, 0, withKeys: true)!;
        Assert.Equal((12L, 30L), (ttl.Ttl, ttl.GrantedTtl));
        Assert.Equal(["a"], ttl.Keys.Select(S));
        KeyValue a = copy.Range(new RangeRequest { Key = B("a") }).Response!.Kvs.Single();
        Assert.Equal((6L, 1L), (a.CreateRevision, a.Version));
        Assert.Equal("2", S(copy.Range(new RangeRequest { Key = B("b"), Revision = 4 }).Response!.Kvs.Single().Value));
        Assert.Equal(StoreError.Compacted, copy.Range(new RangeRequest { Key = B("b"), Revision = 3 }).Error);
        Assert.Equal(store.Machine.Snapshot(), copy.Snapshot());
    }

    [Fact]
    public void Corrupt_snapshots_are_refused_and_leave_the_instance_untouched()
    {
        var store = new TestStore();
        store.Put("a", "1");
        byte[] snapshot = store.Machine.Snapshot();
        var target = new TestStore();
        target.Put("mine", "1");
        byte[] before = target.Machine.Snapshot();

        byte[] flipped = (byte[])snapshot.Clone();
        flipped[10] ^= 0x40;
        Assert.Equal(DecodeError.ChecksumMismatch, Assert.Throws<StoreDecodeException>(() => target.Machine.RestoreSnapshot(flipped)).Reason);
        Assert.Equal(DecodeError.BadMagic, Assert.Throws<StoreDecodeException>(() => target.Machine.RestoreSnapshot(B("nope"))).Reason);
        Assert.Throws<StoreDecodeException>(() => target.Machine.RestoreSnapshot(snapshot.AsSpan(0, snapshot.Length - 1)));
        Assert.Equal(before, target.Machine.Snapshot());
    }
}
