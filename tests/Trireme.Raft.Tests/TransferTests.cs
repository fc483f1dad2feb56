using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves leadership transfer (Raft thesis §3.10): the leader catches the target up, sends TimeoutNow,
// and the target campaigns at once (no PreVote, bypassing leases) and wins; the leader's own proposals
// are dropped while the transfer runs, while those forwarded by followers are held and then committed
// exactly once (by the new leader, or by the old one when the transfer is abandoned); a transfer to an
// unreachable target is abandoned after an election timeout.
public sealed class TransferTests
{
    [Fact]
    public void Transfer_up_to_date_target_becomes_leader_in_the_next_term()
    {
        var net = TestNetwork.Create(3);
        var old = net.Elect(1);
        var term = old.Term;
        old.TransferLeadership(2);
        net.Stabilize();
        Assert.Equal(RaftRole.Leader, net[2].Role);
        Assert.Equal(term + 1, net[2].Term);
        Assert.Equal(2UL, old.Leader);
        Assert.Contains(net.Sent, m => m.Type == MessageType.TimeoutNow && m.To == 2);
    }

    [Fact]
    public void Transfer_target_campaigns_without_prevote()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        var mark = net.Sent.Count;
        net[1].TransferLeadership(3);
        net.Stabilize();
        var fromTarget = net.Sent.Skip(mark).Where(m => m.From == 3).Select(m => m.Type).ToList();
        Assert.Contains(MessageType.Vote, fromTarget);
        Assert.DoesNotContain(MessageType.PreVote, fromTarget);
    }

    [Fact]
    public void Transfer_lagging_target_is_caught_up_before_timeout_now()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(3);
        for (var i = 0; i < 5; i++)
        {
            net.Propose(1, $"e{i}");
        }

        net.Restart(3);
        net[1].TransferLeadership(3);
        net.Stabilize();
        net.TickAll(2);
        Assert.Equal(RaftRole.Leader, net[3].Role);
        var timeoutNow = net.Sent.Last(m => m.Type == MessageType.TimeoutNow);
        Assert.Equal(3UL, timeoutNow.To);
        Assert.Equal(["e0", "e1", "e2", "e3", "e4"], net.Peers[3].Commands);
    }

    [Fact]
    public void Transfer_proposals_are_dropped_while_it_runs()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(3);
        net.Propose(1, "x");
        net[1].TransferLeadership(3);
        Assert.Equal(3UL, net[1].Status.LeadTransferee);
        Assert.Equal(ProposeOutcome.Dropped, net[1].Propose("y"u8.ToArray()).Outcome);
    }

    [Fact]
    public void A_proposal_forwarded_during_a_transfer_is_held_then_committed_once_by_the_new_leader()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "before");
        // The follower's proposal reaches the leader after the hand-over began (its TimeoutNow is in flight).
        net[1].TransferLeadership(2);
        Assert.Equal(ProposeOutcome.Forwarded, net[3].Propose("during"u8.ToArray()).Outcome);
        net.Stabilize();
        Assert.Equal(RaftRole.Leader, net[2].Role);
        net.TickAll(2);
        foreach (var id in new ulong[] { 1, 2, 3 })
        {
            Assert.Equal(["before", "during"], net.Peers[id].Commands);
        }
    }

    [Fact]
    public void A_proposal_forwarded_during_an_abandoned_transfer_is_committed_by_the_leader_that_kept_leading()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        net.Crash(3);
        net.Propose(1, "x");
        leader.TransferLeadership(3);
        Assert.Equal(ProposeOutcome.Forwarded, net.Propose(2, "held").Outcome);
        Assert.DoesNotContain("held", net.Peers[1].Commands);
        net.TickAll(net.Config(1).ElectionTicks);
        Assert.Equal(0UL, leader.Status.LeadTransferee);
        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.Equal(["x", "held"], net.Peers[1].Commands);
        Assert.Equal(["x", "held"], net.Peers[2].Commands);
    }

    [Fact]
    public void Transfer_to_unreachable_target_is_abandoned_after_an_election_timeout()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        net.Crash(3);
        net.Propose(1, "x");
        leader.TransferLeadership(3);
        net.TickAll(net.Config(1).ElectionTicks);
        Assert.Equal(0UL, leader.Status.LeadTransferee);
        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.Equal(ProposeOutcome.Accepted, leader.Propose("y"u8.ToArray()).Outcome);
    }

    [Fact]
    public void Transfer_requested_on_a_follower_is_forwarded_to_the_leader()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net[2].TransferLeadership(2);
        net.Stabilize();
        Assert.Equal(RaftRole.Leader, net[2].Role);
    }

    [Fact]
    public void Transfer_to_a_learner_is_ignored()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.AddJoiner(4);
        net[1].ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4, default));
        net.Stabilize();
        net.TickAll(2);
        net[1].TransferLeadership(4);
        Assert.Equal(0UL, net[1].Status.LeadTransferee);
    }
}
