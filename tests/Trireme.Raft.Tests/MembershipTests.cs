using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves membership change through the log (Raft §6, single-server changes): a change takes effect
// when applied; a learner receives entries but neither votes nor counts towards commit; promoting it
// makes it count; a removed node stops being counted; only one change may be pending; a leader that
// removes itself steps down; a new joiner learns the whole configuration from the leader's log.
public sealed class MembershipTests
{
    private static ConfChange Change(ConfChangeType type, ulong id) => new(type, id, ReadOnlyMemory<byte>.Empty);

    private static TestNetwork ClusterWithLearner(int voters, ulong learner)
    {
        var net = TestNetwork.Create(voters);
        net.Elect(1);
        net.AddJoiner(learner);
        Assert.Equal(ProposeOutcome.Accepted, net[1].ProposeConfChange(Change(ConfChangeType.AddLearner, learner)).Outcome);
        net.Stabilize();
        net.TickAll(3);
        return net;
    }

    [Fact]
    public void Membership_6_learner_joins_and_receives_the_log_and_the_configuration()
    {
        var net = ClusterWithLearner(3, 4);
        net.Propose(1, "a");
        net.TickAll(2);
        Assert.Equal(["a"], net.Peers[4].Commands);
        Assert.Equal([1UL, 2, 3], net[4].Status.ConfState.Voters);
        Assert.Equal([4UL], net[4].Status.ConfState.Learners);
        Assert.True(net[1].Status.Progress[4].IsLearner);
    }

    [Fact]
    public void Membership_6_learner_does_not_count_towards_commit()
    {
        var net = ClusterWithLearner(3, 4);
        net.Crash(2);
        net.Crash(3);
        var commit = net[1].Status.Commit;
        net.Propose(1, "x");
        Assert.Equal(commit, net[1].Status.Commit);
        Assert.Equal(net[1].Status.LastIndex, net[1].Status.Progress[4].Match); // it has it, yet it does not count
    }

    [Fact]
    public void Membership_6_learner_never_campaigns_and_does_not_vote()
    {
        var net = ClusterWithLearner(3, 4);
        net.Crash(1);
        for (var i = 0; i < 100; i++)
        {
            net[4].Tick();
            net.Stabilize();
        }

        Assert.Equal(RaftRole.Follower, net[4].Role);
        Assert.DoesNotContain(net.Sent, m => m.From == 4 && m.Type is MessageType.Vote or MessageType.PreVote);
    }

    [Fact]
    public void Membership_6_promoted_learner_counts_towards_commit()
    {
        var net = ClusterWithLearner(3, 4);
        Assert.Equal(ProposeOutcome.Accepted, net[1].ProposeConfChange(Change(ConfChangeType.PromoteLearner, 4)).Outcome);
        net.Stabilize();
        net.TickAll(2);
        Assert.Equal([1UL, 2, 3, 4], net[1].Status.ConfState.Voters);
        Assert.Equal([1UL, 2, 3, 4], net[4].Status.ConfState.Voters);
        // 4 voters: majority 3. With 2 and 3 down, 1 and 4 are not enough.
        net.Crash(3);
        net.Propose(1, "with-three");
        Assert.Equal(["with-three"], net.Peers[1].Commands);
        net.Crash(2);
        var commit = net[1].Status.Commit;
        net.Propose(1, "with-two");
        Assert.Equal(commit, net[1].Status.Commit);
    }

    [Fact]
    public void Membership_6_removed_node_stops_being_counted()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(3);
        Assert.Equal(ProposeOutcome.Accepted, net[1].ProposeConfChange(Change(ConfChangeType.RemoveNode, 3)).Outcome);
        net.Stabilize();
        net.TickAll(1);
        Assert.Equal([1UL, 2], net[1].Status.ConfState.Voters);
        Assert.False(net[1].Status.Progress.ContainsKey(3));
        // Two voters now: 1 and 2 commit without 3, which no longer holds anything back.
        net.Propose(1, "two-voters");
        Assert.Equal(["two-voters"], net.Peers[1].Commands);
    }

    [Fact]
    public void Membership_6_removing_a_lagging_node_lets_commit_proceed()
    {
        var net = TestNetwork.Create(4);
        net.Elect(1);
        net.Crash(3);
        net.Crash(4);
        net[1].ProposeConfChange(Change(ConfChangeType.RemoveNode, 4)); // cannot commit: 2 of 4
        net.Stabilize();
        Assert.Equal([1UL, 2, 3, 4], net[1].Status.ConfState.Voters);
        net.Restart(3);
        net.TickAll(3);
        Assert.Equal([1UL, 2, 3], net[1].Status.ConfState.Voters);
    }

    [Fact]
    public void Membership_6_a_vote_cast_before_a_change_removed_the_voter_does_not_count()
    {
        // Regression for simulator seed 264142. Node 3 learns that its own removal committed, is told to
        // campaign (a transfer's TimeoutNow) before it applies the removal, votes for itself as a voter,
        // then applies the removal. One grant from node 2 must not make it leader of {1, 2}: its own
        // vote was cast under a configuration that no longer holds. (It did, and led without an entry
        // the new configuration's majority had committed.)
        var net = TestNetwork.Create(3);
        net.Elect(1);
        Assert.Equal(ProposeOutcome.Accepted, net[1].ProposeConfChange(Change(ConfChangeType.RemoveNode, 3)).Outcome);
        var removal = net[1].Status.LastIndex;
        // Node 3 receives and acknowledges the removal entry, but the message telling it the entry
        // committed is held back.
        var held = new List<Message>();
        net.Filter = m =>
        {
            if (m.To != 3 || m.Commit < removal)
            {
                return true;
            }

            held.Add(m);
            return false;
        };
        net.Stabilize();
        Assert.Equal([1UL, 2], net[1].Status.ConfState.Voters);
        net.Filter = _ => true;

        foreach (var m in held)
        {
            net[3].Step(m); // the removal and its commit reach node 3; its Ready is not handled yet
        }

        net[3].Step(new Message { Type = MessageType.TimeoutNow, From = 1, To = 3, Term = net[1].Term });
        Assert.Equal(RaftRole.Candidate, net[3].Role);
        var requests = net.Peers[3].HandleReady(); // persists, applies the removal at Advance
        Assert.Equal([1UL, 2], net[3].Status.ConfState.Voters);

        net[2].Step(Assert.Single(requests, r => r.To == 2 && r.Type == MessageType.Vote));
        var answer = Assert.Single(net.Peers[2].HandleReady(), r => r.To == 3 && r.Type == MessageType.VoteResponse);
        Assert.False(answer.Reject); // node 2 grants: node 3's log is as up to date as its own
        net[3].Step(answer);

        Assert.NotEqual(RaftRole.Leader, net[3].Role);
    }

    [Fact]
    public void Membership_6_only_one_change_may_be_pending()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(2);
        net.Crash(3);
        Assert.Equal(ProposeOutcome.Accepted, net[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 4)).Outcome);
        Assert.Equal(ProposeOutcome.Dropped, net[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 5)).Outcome);
        net.Restart(2);
        net.TickAll(3);
        Assert.Equal(ProposeOutcome.Accepted, net[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 5)).Outcome);
    }

    [Fact]
    public void Membership_6_change_takes_effect_when_applied_not_when_appended()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(2);
        net.Crash(3);
        net[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 4));
        net.Stabilize();
        Assert.Empty(net[1].Status.ConfState.Learners);
        net.Restart(2);
        net.TickAll(2);
        Assert.Equal([4UL], net[1].Status.ConfState.Learners);
    }

    [Fact]
    public void Membership_6_leader_that_removes_itself_steps_down_and_others_elect()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net[1].ProposeConfChange(Change(ConfChangeType.RemoveNode, 1));
        net.Stabilize();
        net.TickAll(1);
        Assert.NotEqual(RaftRole.Leader, net[1].Role);
        net.TickAll(40);
        var leader = net.Leader();
        Assert.NotEqual(1UL, leader.Id);
        Assert.Equal([2UL, 3], leader.Status.ConfState.Voters);
    }

    [Fact]
    public void Membership_6_removing_the_last_voter_is_refused()
    {
        var net = TestNetwork.Create(1);
        net.Elect(1);
        Assert.Equal(ProposeOutcome.Dropped, net[1].ProposeConfChange(Change(ConfChangeType.RemoveNode, 1)).Outcome);
    }

    [Fact]
    public void Membership_6_follower_forwards_conf_change_to_the_leader()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        Assert.Equal(ProposeOutcome.Forwarded, net[2].ProposeConfChange(Change(ConfChangeType.AddLearner, 4)).Outcome);
        net.Stabilize();
        net.TickAll(2);
        Assert.Equal([4UL], net[1].Status.ConfState.Learners);
    }

    [Fact]
    public void Membership_6_restarted_node_recovers_configuration_from_its_log()
    {
        var net = ClusterWithLearner(3, 4);
        net.Crash(2);
        net.Restart(2);
        net.Stabilize();
        Assert.Equal([1UL, 2, 3], net[2].Status.ConfState.Voters);
        Assert.Equal([4UL], net[2].Status.ConfState.Learners);
    }
}
