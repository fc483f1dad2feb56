using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves log replication (Raft §5.3) and commitment (§5.4.2): entries proposed on the leader reach
// every follower in order, commit once a majority holds them, are applied only once durable, and a
// follower's conflicting suffix is overwritten. Driven by TestNetwork with exact assertions.
public sealed class ReplicationTests
{
    [Fact]
    public void Replication_5_3_leader_replicates_and_commits_entries_in_order()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        foreach (var x in new[] { "a", "b", "c" })
        {
            Assert.Equal(ProposeOutcome.Accepted, net.Propose(1, x).Outcome);
        }

        net.TickAll(2); // heartbeats carry the final commit index to followers
        foreach (var peer in net.Peers.Values)
        {
            Assert.Equal(["a", "b", "c"], peer.Commands);
            Assert.Equal(net[1].Status.LastIndex, peer.Node.Status.Commit);
        }
    }

    [Fact]
    public void Replication_5_3_entry_commits_with_majority_while_minority_is_down()
    {
        var net = TestNetwork.Create(5);
        net.Elect(1);
        net.Crash(4);
        net.Crash(5);
        net.Propose(1, "a");
        Assert.Equal(["a"], net.Peers[1].Commands);
    }

    [Fact]
    public void Replication_5_3_no_commit_without_majority()
    {
        var net = TestNetwork.Create(5);
        net.Elect(1);
        net.Crash(3);
        net.Crash(4);
        net.Crash(5);
        var commitBefore = net[1].Status.Commit;
        net.Propose(1, "a");
        Assert.Equal(commitBefore, net[1].Status.Commit);
        Assert.Empty(net.Peers[1].Commands);
    }

    [Fact]
    public void Replication_5_3_follower_forwards_proposal_to_leader()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        var result = net.Propose(2, "via-follower");
        Assert.Equal(new ProposeResult(ProposeOutcome.Forwarded, 1), result);
        Assert.Equal(["via-follower"], net.Peers[1].Commands);
    }

    [Fact]
    public void Replication_8_follower_without_forwarding_answers_not_leader_with_hint()
    {
        var net = TestNetwork.Create(3, c => c with { ForwardProposals = false });
        net.Elect(1);
        Assert.Equal(new ProposeResult(ProposeOutcome.NotLeader, 1), net.Propose(2, "x"));
    }

    [Fact]
    public void Replication_8_node_without_known_leader_answers_not_leader_without_hint()
    {
        var net = TestNetwork.Create(3);
        Assert.Equal(new ProposeResult(ProposeOutcome.NotLeader, 0), net.Propose(2, "x"));
    }

    [Fact]
    public void Replication_5_3_lagging_follower_catches_up_after_restart()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(3);
        for (var i = 0; i < 20; i++)
        {
            net.Propose(1, $"e{i}");
        }

        net.Restart(3);
        net.TickAll(3);
        Assert.Equal(net.Peers[1].Commands, net.Peers[3].Commands);
    }

    [Fact]
    public void Replication_5_3_committed_entries_are_handed_out_only_once_durable()
    {
        var net = TestNetwork.Create(1);
        net.Elect(1);
        var node = net[1];
        node.Propose("x"u8.ToArray());
        var ready = node.TakeReady();
        // The entry is committed (single voter) but not yet durable: it must not be applied yet.
        Assert.Single(ready.Entries);
        Assert.DoesNotContain(ready.CommittedEntries, e => e.Index == ready.Entries[0].Index);
        node.Advance(ready);
        var next = node.TakeReady();
        Assert.Contains(next.CommittedEntries, e => e.Index == ready.Entries[0].Index);
    }
}
