using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Freezes every enum value and the ConfChange encoding that is persisted or sent on the wire: changing
// one would corrupt existing logs or break mixed-version clusters, so a change must fail here first.
public sealed class WireValueTests
{
    [Fact]
    public void Message_type_byte_values_are_frozen()
    {
        var expected = new (MessageType Type, byte Value)[]
        {
            (MessageType.Append, 1), (MessageType.AppendResponse, 2), (MessageType.Heartbeat, 3),
            (MessageType.HeartbeatResponse, 4), (MessageType.Vote, 5), (MessageType.VoteResponse, 6),
            (MessageType.PreVote, 7), (MessageType.PreVoteResponse, 8), (MessageType.InstallSnapshot, 9),
            (MessageType.ReadIndex, 10), (MessageType.ReadIndexResponse, 11), (MessageType.TimeoutNow, 12),
            (MessageType.Propose, 13), (MessageType.TransferLeader, 14),
        };
        Assert.Equal(expected.Length, Enum.GetValues<MessageType>().Length);
        foreach (var (type, value) in expected)
        {
            Assert.Equal(value, (byte)type);
        }
    }

    [Fact]
    public void Entry_conf_change_role_and_outcome_values_are_frozen()
    {
        Assert.Equal([0, 1], Enum.GetValues<EntryType>().Select(v => (int)v));
        Assert.Equal((byte)0, (byte)ConfChangeType.AddVoter);
        Assert.Equal((byte)1, (byte)ConfChangeType.AddLearner);
        Assert.Equal((byte)2, (byte)ConfChangeType.RemoveNode);
        Assert.Equal((byte)3, (byte)ConfChangeType.PromoteLearner);
        Assert.Equal([0, 1, 2, 3], Enum.GetValues<RaftRole>().Select(v => (int)v));
        Assert.Equal((byte)0, (byte)ProposeOutcome.Accepted);
        Assert.Equal((byte)1, (byte)ProposeOutcome.Forwarded);
        Assert.Equal((byte)2, (byte)ProposeOutcome.NotLeader);
        Assert.Equal((byte)3, (byte)ProposeOutcome.Dropped);
        Assert.Equal((byte)4, (byte)ProposeOutcome.TooLarge);
        Assert.Equal([0, 1, 2], Enum.GetValues<ProgressState>().Select(v => (int)v));
    }

    [Fact]
    public void Conf_change_encoding_is_frozen_and_round_trips()
    {
        var change = new ConfChange(ConfChangeType.PromoteLearner, 0x0102030405060708, new byte[] { 0xAA });
        var bytes = change.Encode();
        Assert.Equal(new byte[] { 3, 8, 7, 6, 5, 4, 3, 2, 1, 0xAA }, bytes);
        Assert.True(ConfChange.TryDecode(bytes, out var decoded));
        Assert.Equal(change.Type, decoded.Type);
        Assert.Equal(change.NodeId, decoded.NodeId);
        Assert.Equal(change.Context.ToArray(), decoded.Context.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 4, 1, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void Conf_change_decoding_rejects_malformed_data(byte[] data) =>
        Assert.False(ConfChange.TryDecode(data, out _));
}
