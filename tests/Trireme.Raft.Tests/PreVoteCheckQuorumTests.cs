using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves the two disruption guards of the Raft thesis: PreVote (§9.6) keeps a partitioned node from
// raising its term, so when it rejoins it cannot depose a healthy leader; CheckQuorum (§6.2) makes a
// leader that hears from no quorum within an election timeout step down, and makes followers that
// heard from a leader recently ignore vote requests. Scenarios run on TestNetwork with ticks.
public sealed class PreVoteCheckQuorumTests
{
    [Fact]
    public void PreVote_partitioned_node_does_not_raise_its_term()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        var term = net[3].Term;
        net.Isolate(3);
        net.TickAll(100);
        Assert.Equal(term, net[3].Term);
        Assert.NotEqual(RaftRole.Leader, net[3].Role);
    }

    [Fact]
    public void PreVote_rejoining_partitioned_node_does_not_depose_healthy_leader()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        var term = leader.Term;
        net.Isolate(3);
        net.TickAll(100);
        net.Heal();
        net.TickAll(30);
        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.Equal(term, leader.Term);
        Assert.Equal(1UL, net[3].Leader);
    }

    [Fact]
    public void PreVote_pre_candidate_keeps_its_term_and_vote_until_it_wins_the_pre_election()
    {
        var net = TestNetwork.Create(3);
        net.Isolate(1);
        net.Campaign(1);
        Assert.Equal(RaftRole.PreCandidate, net[1].Role);
        Assert.Equal(1UL, net[1].Term);
        Assert.Equal(0UL, net[1].Vote);
        net.Heal();
        net.Campaign(1);
        Assert.Equal(RaftRole.Leader, net[1].Role);
        Assert.Equal(2UL, net[1].Term);
    }

    [Fact]
    public void PreVote_is_rejected_by_a_voter_with_a_more_up_to_date_log()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "a");
        net.Isolate(3);
        net.Propose(1, "b"); // node 3 misses it
        net.Heal();
        net.Crash(1);
        net.Campaign(3);
        Assert.NotEqual(RaftRole.Leader, net[3].Role);
    }

    [Fact]
    public void CheckQuorum_leader_that_hears_from_no_quorum_steps_down_within_an_election_timeout()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        net.Isolate(1);
        for (var i = 0; i < 2 * net.Config(1).ElectionTicks; i++)
        {
            leader.Tick();
            net.Stabilize();
        }

        Assert.Equal(RaftRole.Follower, leader.Role);
        Assert.Equal(0UL, leader.Leader);
    }

    [Fact]
    public void CheckQuorum_leader_with_quorum_stays_leader()
    {
        var net = TestNetwork.Create(5);
        var leader = net.Elect(1);
        net.Crash(4);
        net.Crash(5);
        net.TickAll(50);
        Assert.Equal(RaftRole.Leader, leader.Role);
    }

    [Fact]
    public void CheckQuorum_follower_in_lease_ignores_higher_term_vote_request()
    {
        var net = TestNetwork.Create(3, c => c with { PreVote = false });
        net.Elect(1);
        var follower = net[2];
        var term = follower.Term;
        follower.Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = term + 5, Index = 100, LogTerm = 100 });
        Assert.Equal(term, follower.Term);
        Assert.Equal(1UL, follower.Leader);
    }

    [Fact]
    public void CheckQuorum_minority_side_cannot_elect_while_majority_keeps_leader()
    {
        var net = TestNetwork.Create(5);
        var leader = net.Elect(1);
        net.Isolate(4, 5);
        net.TickAll(60);
        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.NotEqual(RaftRole.Leader, net[4].Role);
        Assert.NotEqual(RaftRole.Leader, net[5].Role);
        Assert.Equal(ProposeOutcome.Accepted, net.Propose(1, "still-serving").Outcome);
        Assert.Equal(["still-serving"], net.Peers[1].Commands);
    }

    [Fact]
    public void CheckQuorum_majority_elects_new_leader_after_old_one_is_isolated()
    {
        var net = TestNetwork.Create(3);
        var old = net.Elect(1);
        net.Isolate(1);
        net.TickAll(60);
        Assert.NotEqual(RaftRole.Leader, old.Role);
        var leaders = new[] { net[2], net[3] }.Where(n => n.Role == RaftRole.Leader).ToList();
        Assert.Single(leaders);
        net.Heal();
        net.TickAll(5);
        Assert.Equal(leaders[0].Id, old.Leader);
    }
}
