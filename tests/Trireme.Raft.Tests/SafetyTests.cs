using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves the safety rules of Raft §5.4: a leader commits an entry from an earlier term only by
// committing an entry of its own term above it (the Figure 8 scenario), committed entries survive
// any leader change (leader completeness), and the failure-tolerance table operators rely on: for
// N = 1..7 a cluster keeps committing with floor((N-1)/2) members down and stops committing, losing
// nothing already committed, with one more down.
public sealed class SafetyTests
{
    private static RaftConfig Plain(RaftConfig c) => c with { PreVote = false, CheckQuorum = false };

    [Fact]
    public void Safety_5_4_2_prior_term_entry_is_not_committed_by_counting_replicas()
    {
        // One entry per message, so the old entry and the new leader's no-op travel separately.
        var net = TestNetwork.Create(3, c => Plain(c) with { MaxSizePerMessageBytes = 1 });
        net.Elect(1);
        net.Filter = m => m.Type != MessageType.Append || m.From != 1 || m.Entries.Count == 0;
        net[1].Propose("old"u8.ToArray());
        net.Stabilize();
        var oldIndex = net[1].Status.LastIndex;
        Assert.Equal(oldIndex - 1, net[1].Status.Commit);

        // Node 1 loses leadership to a higher term and wins it back (its log is the longest).
        net[1].Step(new Message { Type = MessageType.Vote, From = 3, To = 1, Term = 3, Index = 0, LogTerm = 0 });
        net.Stabilize();

        // The followers now receive everything, but their acks for the new no-op are lost: the old
        // entry reaches a majority (1, 2 and 3) while the current term's entry is acknowledged by none.
        net.Filter = m => !(m.Type == MessageType.AppendResponse && !m.Reject && m.Index > oldIndex);
        net.Campaign(1);
        Assert.Equal(RaftRole.Leader, net[1].Role);
        Assert.Equal(4UL, net[1].Term);
        Assert.Equal(oldIndex, net[1].Status.Progress[2].Match);
        Assert.Equal(oldIndex, net[1].Status.Progress[3].Match);
        Assert.Equal(oldIndex - 1, net[1].Status.Commit);

        net.Filter = _ => true;
        net.TickAll(2);
        Assert.Equal(oldIndex + 1, net[1].Status.Commit);
        Assert.Equal(["old"], net.Peers[2].Commands);
    }

    [Fact]
    public void Safety_5_4_1_committed_entries_survive_leader_changes()
    {
        var net = TestNetwork.Create(5);
        net.Elect(1);
        net.Propose(1, "a");
        net.Propose(1, "b");
        net.Crash(1);
        net.TickAll(40);
        var leader = net.Leader();
        net.Propose(leader.Id, "c");
        net.Restart(1);
        net.TickAll(5);
        foreach (var (id, peer) in net.Peers)
        {
            Assert.Equal(["a", "b", "c"], peer.Commands);
        }
    }

    [Fact]
    public void Safety_5_3_log_matching_after_a_leader_with_uncommitted_entries_is_replaced()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "a");
        net.Isolate(1);
        net[1].Propose("lost"u8.ToArray());
        net.Stabilize();
        net.TickAll(40);
        var leader = net.Leader();
        Assert.NotEqual(1UL, leader.Id);
        net.Propose(leader.Id, "b");
        net.Heal();
        net.TickAll(5);
        foreach (var peer in net.Peers.Values)
        {
            Assert.Equal(["a", "b"], peer.Commands);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void FailureTolerance_cluster_of_N_commits_with_floor_N_minus_1_over_2_down_and_stops_with_one_more(int n)
    {
        var net = TestNetwork.Create(n);
        net.Elect(1);
        var tolerance = Primitives.Quorum.FailureTolerance(n);
        Assert.Equal((n - 1) / 2, tolerance);
        for (var i = 0; i < tolerance; i++)
        {
            net.Crash((ulong)(n - i));
        }

        Assert.Equal(ProposeOutcome.Accepted, net.Propose(1, "committed").Outcome);
        net.TickAll(2);
        Assert.Equal(["committed"], net.Peers[1].Commands);
        if (n == 1)
        {
            return; // one more down means no node at all: nothing can commit, trivially
        }

        net.Crash((ulong)(n - tolerance));
        var commit = net[1].Status.Commit;
        net[1].Propose("stuck"u8.ToArray());
        net.Stabilize();
        Assert.Equal(commit, net[1].Status.Commit);

        // Nothing committed is lost: bring everyone back and the committed entry is still first.
        for (var id = 2; id <= n; id++)
        {
            if (net.Down.Contains((ulong)id))
            {
                net.Restart((ulong)id);
            }
        }

        net.TickAll(60);
        foreach (var peer in net.Peers.Values)
        {
            Assert.Equal("committed", peer.Commands[0]);
        }
    }
}
