using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves that each deliberate-bug switch in RaftFaults really changes behaviour (so that a checker
// which catches it is catching a real safety violation), and that it is off by default. Each test
// runs the same scenario with the switch off and on and compares the outcome.
public sealed class FaultSwitchTests
{
    private static RaftConfig WithFaults(RaftConfig c, Action<RaftFaults> set)
    {
        var faults = new RaftFaults();
        set(faults);
        return c with { Faults = faults };
    }

    [Fact]
    public void Faults_are_all_off_by_default()
    {
        Assert.False(new RaftConfig { Id = 1 }.Faults.Any);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fault_CommitWithoutMajority_commits_with_the_quorum_down(bool on)
    {
        var net = TestNetwork.Create(3, c => WithFaults(c, f => f.CommitWithoutMajority = on));
        net.Elect(1);
        net.Crash(2);
        net.Crash(3);
        net.Propose(1, "unsafe");
        Assert.Equal(on ? ["unsafe"] : [], net.Peers[1].Commands);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fault_VoteTwiceInTerm_grants_a_second_vote_in_the_same_term(bool on)
    {
        var node = RaftNode.Bootstrap(WithFaults(new RaftConfig { Id = 3, PreVote = false }, f => f.VoteTwiceInTerm = on),
            new ConfState([1, 2, 3], []), new Random(1));
        node.Step(new Message { Type = MessageType.Vote, From = 1, To = 3, Term = 5, Index = 9, LogTerm = 1 });
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 3, Term = 5, Index = 9, LogTerm = 1 });
        var grants = node.TakeReady().Messages.Count(m => m.Type == MessageType.VoteResponse && !m.Reject);
        Assert.Equal(on ? 2 : 1, grants);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fault_SkipLogMatchCheck_accepts_an_append_whose_previous_entry_differs(bool on)
    {
        var node = RaftNode.Bootstrap(WithFaults(new RaftConfig { Id = 2 }, f => f.SkipLogMatchCheck = on),
            new ConfState([1, 2, 3], []), new Random(1));
        node.Advance(node.TakeReady());
        // Our entry 3 has term 1; the leader claims it has term 7.
        node.Step(new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 8, Index = 3, LogTerm = 7,
            Entries = [new Entry(8, 4, EntryType.Normal, new byte[] { 1 })],
        });
        var response = Assert.Single(node.TakeReady().Messages);
        Assert.Equal(!on, response.Reject);
        Assert.Equal(on ? 4UL : 3UL, node.Status.LastIndex);
    }
}
