using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves that broken invariants fail fast with RaftInvariantException (in every build configuration)
// and that misuse of the Ready contract by a host is refused: these are bugs, never outcomes.
public sealed class InvariantTests
{
    [Fact]
    public void Invariant_persisted_commit_beyond_the_log_is_refused_at_restart()
    {
        var persisted = new RaftPersistedState(new HardState(1, 0, 5), null, [new Entry(1, 1, EntryType.Normal, default)]);
        Assert.Throws<RaftInvariantException>(() => RaftNode.Restart(new RaftConfig { Id = 1 }, persisted, new Random(1)));
    }

    [Fact]
    public void Invariant_persisted_entries_with_a_gap_are_refused_at_restart()
    {
        var persisted = new RaftPersistedState(new HardState(1, 0, 0), null,
            [new Entry(1, 1, EntryType.Normal, default), new Entry(1, 3, EntryType.Normal, default)]);
        Assert.Throws<RaftInvariantException>(() => RaftNode.Restart(new RaftConfig { Id = 1 }, persisted, new Random(1)));
    }

    [Fact]
    public void Invariant_two_leaders_in_one_term_is_detected()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        Assert.Throws<RaftInvariantException>(() => leader.Step(new Message
        {
            Type = MessageType.Append, From = 2, To = 1, Term = leader.Term, Index = 0, LogTerm = 0,
        }));
    }

    [Fact]
    public void Ready_contract_a_second_TakeReady_before_Advance_is_refused()
    {
        var node = RaftNode.Bootstrap(new RaftConfig { Id = 1 }, new ConfState([1], []), new Random(1));
        var ready = node.TakeReady();
        Assert.False(node.HasReady());
        Assert.Throws<InvalidOperationException>(() => node.TakeReady());
        Assert.Throws<InvalidOperationException>(() => node.Advance(new Ready()));
        node.Advance(ready);
    }

    [Fact]
    public void Config_nonsense_is_rejected_with_ArgumentException()
    {
        var conf = new ConfState([1], []);
        Assert.Throws<ArgumentException>(() => RaftNode.Bootstrap(new RaftConfig { Id = 0 }, conf, new Random(1)));
        Assert.Throws<ArgumentException>(() => RaftNode.Bootstrap(new RaftConfig { Id = 1, HeartbeatTicks = 10, ElectionTicks = 10 }, conf, new Random(1)));
        Assert.Throws<ArgumentException>(() => RaftNode.Bootstrap(new RaftConfig { Id = 1, MaxInflightMessages = 0 }, conf, new Random(1)));
        Assert.Throws<ArgumentException>(() => RaftNode.Bootstrap(new RaftConfig { Id = 1 }, new ConfState([], []), new Random(1)));
    }

    [Fact]
    public void Step_drops_messages_for_other_nodes_and_stale_terms()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        var status = leader.Status;
        leader.Step(new Message { Type = MessageType.Append, From = 2, To = 9, Term = 100 });
        leader.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 1 });
        leader.Step(new Message { Type = (MessageType)200, From = 2, To = 1, Term = 100 });
        Assert.Equal(status.Term, leader.Term);
        Assert.Equal(RaftRole.Leader, leader.Role);
    }
}
