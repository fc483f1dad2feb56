using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves the election rules of the Raft paper §5.2 (and the election restriction of §5.4.1) on small
// clusters driven by TestNetwork: one node is ticked until it campaigns, then the cluster settles, and
// roles, terms and votes are asserted exactly.
public sealed class ElectionTests
{
    private static RaftConfig NoPreVote(RaftConfig c) => c with { PreVote = false, CheckQuorum = false };

    [Fact]
    public void Election_5_2_candidate_with_majority_becomes_leader()
    {
        var net = TestNetwork.Create(3, NoPreVote);
        var leader = net.Elect(1);
        Assert.Equal(2UL, leader.Term);
        Assert.Equal(1UL, net[2].Leader);
        Assert.Equal(1UL, net[3].Leader);
        Assert.Equal(1UL, net[2].Vote);
    }

    [Fact]
    public void Election_5_2_single_node_elects_itself_and_commits_at_once()
    {
        var net = TestNetwork.Create(1);
        var leader = net.Elect(1);
        Assert.Equal(ProposeOutcome.Accepted, net.Propose(1, "x").Outcome);
        Assert.Equal(leader.Status.LastIndex, leader.Status.Commit);
        Assert.Equal(["x"], net.Peers[1].Commands);
    }

    [Fact]
    public void Election_5_2_candidate_without_majority_does_not_win()
    {
        var net = TestNetwork.Create(5, NoPreVote);
        net.Isolate(1, 2);
        net.Campaign(1);
        Assert.Equal(RaftRole.Candidate, net[1].Role);
        Assert.Equal(0UL, net[3].Leader);
    }

    [Fact]
    public void Election_5_2_a_node_grants_at_most_one_vote_per_term()
    {
        var net = TestNetwork.Create(3, NoPreVote);
        var node = net[3];
        node.Step(new Message { Type = MessageType.Vote, From = 1, To = 3, Term = 5, Index = 9, LogTerm = 1 });
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 3, Term = 5, Index = 9, LogTerm = 1 });
        var responses = node.TakeReady().Messages.Where(m => m.Type == MessageType.VoteResponse).ToList();
        Assert.Equal(2, responses.Count);
        Assert.False(responses[0].Reject);
        Assert.True(responses[1].Reject);
        Assert.Equal(1UL, node.Vote);
    }

    [Fact]
    public void Election_5_2_candidate_steps_down_on_append_from_leader_of_its_term()
    {
        var net = TestNetwork.Create(3, NoPreVote);
        net.Isolate(1);
        net.Campaign(1);
        Assert.Equal(RaftRole.Candidate, net[1].Role);
        var term = net[1].Term;
        net[1].Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = term, Index = 0, LogTerm = 0 });
        Assert.Equal(RaftRole.Follower, net[1].Role);
        Assert.Equal(2UL, net[1].Leader);
    }

    [Fact]
    public void Election_5_2_higher_term_message_turns_a_leader_into_follower()
    {
        var net = TestNetwork.Create(3, NoPreVote);
        var leader = net.Elect(1);
        leader.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = leader.Term + 1 });
        Assert.Equal(RaftRole.Follower, leader.Role);
        Assert.Equal(2UL, leader.Leader);
    }

    [Fact]
    public void Election_5_2_election_timeout_is_randomized_within_one_to_two_timeouts()
    {
        var ticksToCampaign = new HashSet<int>();
        for (var seed = 0; seed < 40; seed++)
        {
            var node = RaftNode.Bootstrap(new RaftConfig { Id = 1, ElectionTicks = 10, PreVote = false },
                new ConfState([1, 2, 3], []), new Random(seed));
            var ticks = 0;
            while (node.Role == RaftRole.Follower)
            {
                node.Tick();
                ticks++;
                Assert.True(ticks < 20, "campaigned later than 2*ElectionTicks");
            }

            Assert.True(ticks >= 10, "campaigned before ElectionTicks");
            ticksToCampaign.Add(ticks);
        }

        Assert.True(ticksToCampaign.Count > 3, "timeouts are not spread");
    }

    [Fact]
    public void Election_5_4_1_voter_rejects_candidate_with_less_up_to_date_log()
    {
        var net = TestNetwork.Create(3, NoPreVote);
        net.Elect(1);
        net.Propose(1, "a");
        var voter = net[2];
        var lastIndex = voter.Status.LastIndex;
        // Same last term, shorter log: rejected. Note: term is higher, so the voter adopts it first.
        voter.Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = 10, Index = lastIndex - 1, LogTerm = 2 });
        var response = Assert.Single(net.Peers[2].Node.TakeReady().Messages, m => m.Type == MessageType.VoteResponse);
        Assert.True(response.Reject);
        Assert.Equal(0UL, voter.Vote);
    }

    [Fact]
    public void Election_5_4_1_voter_grants_candidate_with_higher_last_term_even_if_shorter()
    {
        var net = TestNetwork.Create(3, NoPreVote);
        net.Elect(1);
        net.Propose(1, "a");
        var voter = net[2];
        voter.Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = 10, Index = 1, LogTerm = 9 });
        var response = Assert.Single(voter.TakeReady().Messages, m => m.Type == MessageType.VoteResponse);
        Assert.False(response.Reject);
        Assert.Equal(3UL, voter.Vote);
    }

    [Fact]
    public void Election_vote_is_persisted_in_the_same_ready_as_the_vote_response()
    {
        var node = RaftNode.Bootstrap(new RaftConfig { Id = 2 }, new ConfState([1, 2, 3], []), new Random(1));
        node.Advance(node.TakeReady());
        node.Step(new Message { Type = MessageType.Vote, From = 1, To = 2, Term = 2, Index = 3, LogTerm = 1 });
        var ready = node.TakeReady();
        Assert.Equal(new HardState(2, 1, 3), ready.HardState);
        Assert.True(ready.MustSync);
        Assert.Contains(ready.Messages, m => m.Type == MessageType.VoteResponse && !m.Reject);
    }
}
