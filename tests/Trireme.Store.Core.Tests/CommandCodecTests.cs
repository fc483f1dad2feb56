// Proves the log-entry command format is stable and safe: persisted tags and enum numbers are frozen
// (they are in every Raft log already written — changing one corrupts old logs), one encoded sample
// per command kind is frozen byte for byte, every kind round-trips, and arbitrary or truncated bytes
// are refused with a typed StoreDecodeException (never another exception), which apply turns into a
// deterministic error on every member.
using Trireme.Store.Core;
using Trireme.Store.Core.Codec;
using Trireme.Store.Core.Watch;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class CommandCodecTests
{
    internal static readonly StoreRequest[] Samples =
    [
        new RangeRequest
        {
            Key = B("a"), RangeEnd = B("b"), Limit = 5, Revision = 7, SortOrder = SortOrder.Descend, SortTarget = SortTarget.Mod,
            KeysOnly = true, MinModRevision = 1, MaxModRevision = 2, MinCreateRevision = 3, MaxCreateRevision = 4,
        },
        new PutRequest { Key = B("k"), Value = B("v"), Lease = 300, PrevKv = true },
        new DeleteRangeRequest { Key = B("k"), RangeEnd = [0], PrevKv = true },
        new TxnRequest
        {
            Compare = [new Compare { Key = B("k"), Target = CompareTarget.Mod, Result = CompareResult.Less, Number = -1 }],
            Success = [new PutRequest { Key = B("x"), Value = B("1") }, new TxnRequest { Failure = [new RangeRequest { Key = B("y") }] }],
            Failure = [new DeleteRangeRequest { Key = B("z") }],
        },
        new CompactionRequest { Revision = 1000, Physical = true },
        new LeaseGrantRequest { Ttl = 60, Id = 123456789 },
        new LeaseRevokeRequest { Id = 123456789 },
        new LeaseCheckpointRequest { Checkpoints = [new LeaseCheckpoint(5, 20), new LeaseCheckpoint(6, 1)] },
        new AlarmRequest { Action = AlarmAction.Deactivate, MemberId = 0x8e9e05c52164694d, Alarm = AlarmType.NoSpace },
    ];

    // Version 1 encodings of Samples with proposer member ID 9. Frozen: if this changes, old logs no longer decode.
    private static readonly string[] FrozenHex =
    [
        "010109016101620a0e02030202040608",
        "010209016b0176d80401",
        "010309016b010001",
        "010409010202016b000100020201780131000004000001010179000000000000000000000103017a0000",
        "010509d00f01",
        "01060978aab4de75",
        "010709aab4de75",
        "010809020a280c02",
        "01090902cdd2918bd2b881cf8e0101",
    ];

    [Fact]
    public void Persisted_tags_and_enum_numbers_are_frozen()
    {
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], Enum.GetValues<CommandKind>().Select(k => (int)k));
        Assert.Equal(1, CommandCodec.FormatVersion);
        Assert.Equal(1, StoreStateMachine.SnapshotFormatVersion);
        // These equal etcd's protobuf enum numbers, which the host relies on when mapping.
        Assert.Equal([0, 1, 2], Enum.GetValues<SortOrder>().Select(v => (int)v));
        Assert.Equal([0, 1, 2, 3, 4], Enum.GetValues<SortTarget>().Select(v => (int)v));
        Assert.Equal((0, 1, 2, 3), ((int)CompareResult.Equal, (int)CompareResult.Greater, (int)CompareResult.Less, (int)CompareResult.NotEqual));
        Assert.Equal((0, 1, 2, 3, 4), ((int)CompareTarget.Version, (int)CompareTarget.Create, (int)CompareTarget.Mod, (int)CompareTarget.Value, (int)CompareTarget.Lease));
        Assert.Equal((0, 1, 2), ((int)AlarmAction.Get, (int)AlarmAction.Activate, (int)AlarmAction.Deactivate));
        Assert.Equal((0, 1, 2), ((int)AlarmType.None, (int)AlarmType.NoSpace, (int)AlarmType.Corrupt));
        Assert.Equal((0, 1), ((int)WatchEventType.Put, (int)WatchEventType.Delete));
    }

    [Fact]
    public void Encodings_of_one_sample_per_kind_are_frozen()
    {
        string[] actual = [.. Samples.Select(s => Convert.ToHexStringLower(CommandCodec.Encode(new StoreCommand(s, 9))))];
        Assert.Equal(FrozenHex, actual);
    }

    [Fact]
    public void Every_kind_round_trips()
    {
        foreach (StoreRequest sample in Samples)
        {
            byte[] encoded = CommandCodec.Encode(new StoreCommand(sample, 42));
            StoreCommand decoded = CommandCodec.Decode(encoded);
            Assert.Equal(42UL, decoded.ProposerMemberId);
            Assert.Equal(sample.GetType(), decoded.Request.GetType());
            Assert.Equal(encoded, CommandCodec.Encode(decoded));
        }
    }

    [Fact]
    public void Encodes_reusing_a_thread_scratch_buffer_stay_exact_after_larger_and_oversized_commands()
    {
        // Encode reuses a per-thread buffer up to 64 KiB and drops a larger one: a small command
        // after a big one (kept or dropped) must not carry any of its bytes.
        byte[] frozenPut = Convert.FromHexString(FrozenHex[1]);
        foreach (int size in new[] { 40_000, 200_000, 10 })
        {
            var big = new PutRequest { Key = B("big"), Value = Enumerable.Range(0, size).Select(i => (byte)i).ToArray() };
            byte[] encoded = CommandCodec.Encode(new StoreCommand(big, 3));
            var decoded = Assert.IsType<PutRequest>(CommandCodec.Decode(encoded).Request);
            Assert.Equal(big.Value, decoded.Value);
            Assert.Equal(frozenPut, CommandCodec.Encode(new StoreCommand(Samples[1], 9)));
            byte[] prefixed = CommandCodec.Encode(new StoreCommand(Samples[1], 9), reservedPrefixBytes: 17);
            Assert.Equal(new byte[17], prefixed[..17]);
            Assert.Equal(frozenPut, prefixed[17..]);
        }
    }

    [Fact]
    public void A_counting_writer_sizes_every_varint_as_the_real_writer_writes_it()
    {
        // Snapshots are sized by a counting pass and then written into an array of exactly that size.
        var values = new List<ulong> { 0, 1, ulong.MaxValue, long.MaxValue };
        for (int bits = 1; bits < 64; bits++)
        {
            values.AddRange([(1UL << bits) - 1, 1UL << bits, (1UL << bits) + 1]);
        }

        foreach (ulong value in values)
        {
            var counter = WireWriter.Counting();
            var writer = new WireWriter(1);
            counter.UVarint(value);
            writer.UVarint(value);
            int expected = 1;
            for (ulong rest = value >> 7; rest != 0; rest >>= 7)
            {
                expected++;
            }

            Assert.Equal(expected, counter.Length);
            Assert.Equal(expected, writer.Length);
            Assert.Equal(0, writer.Written[^1] & 0x80); // the last byte ends the varint
            var reader = new WireReader(writer.Written);
            Assert.Equal(value, reader.UVarint());
            Assert.Equal(0, reader.Remaining);
        }
    }

    [Fact]
    public void Decoding_from_memory_shares_a_plain_puts_value_with_the_entry_and_copies_every_other_value()
    {
        // Shared: the stored version keeps the log entry's array instead of a copy of its own. Only a
        // plain put shares, so a txn's many values never pin each other's entry.
        byte[] plain = CommandCodec.Encode(new StoreCommand(new PutRequest { Key = B("k"), Value = B("value") }, 1));
        var put = Assert.IsType<PutRequest>(CommandCodec.Decode(plain.AsMemory()).Request);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(put.Value, out ArraySegment<byte> segment));
        Assert.Same(plain, segment.Array);
        Assert.Equal("value", S(put.Value));

        var copied = Assert.IsType<PutRequest>(CommandCodec.Decode((ReadOnlySpan<byte>)plain).Request);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(copied.Value, out segment));
        Assert.NotSame(plain, segment.Array);

        byte[] txn = CommandCodec.Encode(new StoreCommand(new TxnRequest { Success = [new PutRequest { Key = B("k"), Value = B("v2") }] }, 1));
        var inner = Assert.IsType<PutRequest>(Assert.IsType<TxnRequest>(CommandCodec.Decode(txn.AsMemory()).Request).Success[0]);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(inner.Value, out segment));
        Assert.NotSame(txn, segment.Array);
        Assert.Equal("v2", S(inner.Value));

        // Applying the same log through either form ends in the same state.
        var bySpan = new StoreStateMachine();
        var byMemory = new StoreStateMachine();
        for (int i = 0; i < 50; i++)
        {
            byte[] entry = CommandCodec.Encode(new StoreCommand(new PutRequest { Key = B($"k{i % 7}"), Value = B($"v{i}") }, 1));
            bySpan.Apply(i + 1, (ReadOnlySpan<byte>)entry, 0);
            byMemory.Apply(i + 1, entry.AsMemory(), 0);
        }

        Assert.Equal(bySpan.HashKv(), byMemory.HashKv());
        Assert.Equal(bySpan.Snapshot(), byMemory.Snapshot());
    }

    [Fact]
    public void Truncations_and_random_bytes_are_refused_with_a_typed_exception()
    {
        var random = new Random(7);
        foreach (StoreRequest sample in Samples)
        {
            byte[] encoded = CommandCodec.Encode(new StoreCommand(sample));
            for (int length = 0; length < encoded.Length; length++)
            {
                Assert.Throws<StoreDecodeException>(() => CommandCodec.Decode(encoded.AsSpan(0, length)));
            }

            for (int i = 0; i < 300; i++)
            {
                byte[] mutated = (byte[])encoded.Clone();
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                DecodeOrReject(mutated);
            }
        }

        for (int i = 0; i < 5000; i++)
        {
            byte[] noise = new byte[random.Next(0, 64)];
            random.NextBytes(noise);
            if (noise.Length > 0)
            {
                noise[0] = CommandCodec.FormatVersion;
            }

            DecodeOrReject(noise);
        }
    }

    [Fact]
    public void Deep_nesting_is_refused()
    {
        StoreRequest txn = new PutRequest { Key = B("k") };
        for (int i = 0; i < CommandCodec.MaxTxnDepth + 2; i++)
        {
            txn = new TxnRequest { Success = [txn] };
        }

        Assert.Throws<ArgumentException>(() => CommandCodec.Encode(new StoreCommand(txn)));
        byte[] hostile = [CommandCodec.FormatVersion, (byte)CommandKind.Txn, 0, .. Enumerable.Repeat(new byte[] { 0, 1, (byte)CommandKind.Txn }, 100).SelectMany(b => b)];
        Assert.Equal(DecodeError.TooDeep, Assert.Throws<StoreDecodeException>(() => CommandCodec.Decode(hostile)).Reason);
    }

    [Fact]
    public void Apply_of_undecodable_bytes_is_a_deterministic_error_and_consumes_the_index()
    {
        var machine = new StoreStateMachine();
        ApplyResult result = machine.Apply(1, [9, 9, 9], nowTicks: 0);
        Assert.Equal(StoreError.BadCommand, result.Error);
        Assert.Equal(1, machine.AppliedIndex);
        Assert.Equal(1, machine.CurrentRevision);
    }

    private static void DecodeOrReject(byte[] bytes)
    {
        try
        {
            StoreCommand decoded = CommandCodec.Decode(bytes);
            Assert.Equal(bytes, CommandCodec.Encode(decoded)); // anything accepted is canonical
        }
        catch (StoreDecodeException)
        {
        }
    }
}
