// Proves the peer wire format: a fixed message encodes to fixed bytes (so a change to the format is a
// deliberate, visible act), every field round-trips (entries, snapshot, context), and the decoder
// rejects seeded random and mutated input without throwing. Also freezes the entry envelope kinds.
using Trireme.Raft.Core;
using Trireme.Store.Host;
using Trireme.Store.Raft;

namespace Trireme.Store.Tests;

public sealed class RaftWireCodecTests
{
    private static Message Sample() => new()
    {
        Type = MessageType.Append, From = 1, To = 2, Term = 3, LogTerm = 2, Index = 7, Commit = 6,
        Reject = true, RejectHint = 5, Context = new byte[] { 0xAA },
        Entries = [new Entry(3, 8, EntryType.Normal, new byte[] { 1, 2 }), new Entry(3, 9, EntryType.ConfChange, Array.Empty<byte>())],
        Snapshot = new Snapshot(new SnapshotMetadata(4, 2, new ConfState([1, 2, 3], [4])), new byte[] { 9 }),
    };

    [Fact]
    public void Encoding_is_frozen()
    {
        var hex = Convert.ToHexString(RaftWireCodec.Encode(Sample()));
        Assert.Equal(
            "0101" + "0100000000000000" + "0200000000000000" + "0300000000000000" + "0200000000000000" +
            "0700000000000000" + "0600000000000000" + "03" + "0500000000000000" + "01000000AA" +
            "02000000" +
            "0300000000000000" + "0800000000000000" + "00" + "020000000102" +
            "0300000000000000" + "0900000000000000" + "01" + "00000000" +
            "0400000000000000" + "0200000000000000" + "03000000" + "010000000000000002000000000000000300000000000000" +
            "01000000" + "0400000000000000" + "0100000009",
            hex);
    }

    [Fact]
    public void Message_type_and_envelope_values_are_frozen()
    {
        Assert.Equal(1, (byte)MessageType.Append);
        Assert.Equal(14, (byte)MessageType.TransferLeader);
        Assert.Equal(1, EntryEnvelope.StoreCommand);
        Assert.Equal(2, EntryEnvelope.MemberAttributes);
    }

    [Fact]
    public void Every_field_round_trips()
    {
        var original = Sample();
        Assert.True(RaftWireCodec.TryDecode(RaftWireCodec.Encode(original), out var decoded));
        Assert.Equal(original.ToString(), decoded.ToString());
        Assert.Equal((original.Reject, original.RejectHint, original.LogTerm, original.Commit),
            (decoded.Reject, decoded.RejectHint, decoded.LogTerm, decoded.Commit));
        Assert.Equal(original.Context.ToArray(), decoded.Context.ToArray());
        Assert.Equal(original.Entries.Select(e => (e.Term, e.Index, e.Type, Convert.ToHexString(e.Data.Span))),
            decoded.Entries.Select(e => (e.Term, e.Index, e.Type, Convert.ToHexString(e.Data.Span))));
        Assert.Equal(original.Snapshot!.Metadata, decoded.Snapshot!.Metadata);
        Assert.Equal(original.Snapshot.Data.ToArray(), decoded.Snapshot.Data.ToArray());
    }

    [Fact]
    public void Decoded_message_owns_its_bytes_so_the_receive_buffer_can_be_reused()
    {
        var original = Sample();
        var frame = RaftWireCodec.Encode(original);
        Assert.True(RaftWireCodec.TryDecode(frame, out var decoded));
        Array.Fill(frame, (byte)0xEE); // what the transport's pooled buffer may hold next
        Assert.Equal(original.Context.ToArray(), decoded.Context.ToArray());
        Assert.Equal(original.Entries.Select(e => Convert.ToHexString(e.Data.Span)),
            decoded.Entries.Select(e => Convert.ToHexString(e.Data.Span)));
        Assert.Equal(original.Snapshot!.Data.ToArray(), decoded.Snapshot!.Data.ToArray());
    }

    [Fact]
    public void Seeded_fuzz_of_the_decoder_never_throws()
    {
        var random = new Random(4242);
        var valid = RaftWireCodec.Encode(Sample());
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 300)];
                random.NextBytes(input);
            }
            else
            {
                input = (byte[])valid.Clone();
                input[random.Next(input.Length)] = (byte)random.Next(256);
                input = input[..random.Next(input.Length + 1)];
            }

            _ = RaftWireCodec.TryDecode(input, out _);
        }

        Assert.False(RaftWireCodec.TryDecode(valid[..^1], out _));
        Assert.False(RaftWireCodec.TryDecode(valid.Append((byte)0).ToArray(), out _));
    }
}
