using System.Text;
using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves linearizable reads without log writes (Raft §8, thesis §6.4): the leader answers a ReadIndex
// with its commit index only after a quorum heartbeat round carrying the request context confirms it
// still leads, and only once it has committed an entry of its own term; a follower forwards the
// request and receives a ReadIndexResponse; a leader cut off from its quorum never answers.
public sealed class ReadIndexTests
{
    private static byte[] Ctx(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void ReadIndex_8_leader_answers_after_quorum_confirms_leadership()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "a");
        net[1].ReadIndex(Ctx("r1"));
        net.Stabilize();
        var read = Assert.Single(net.Peers[1].ReadStates);
        Assert.Equal(net[1].Status.Commit, read.Index);
        Assert.Equal("r1", Encoding.UTF8.GetString(read.RequestContext.Span));
        Assert.Contains(net.Sent, m => m.Type == MessageType.Heartbeat && m.Context.Span.SequenceEqual(Ctx("r1")));
    }

    [Fact]
    public void ReadIndex_8_no_log_write_is_needed()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        var last = net[1].Status.LastIndex;
        net[1].ReadIndex(Ctx("r"));
        net.Stabilize();
        Assert.Single(net.Peers[1].ReadStates);
        Assert.Equal(last, net[1].Status.LastIndex);
    }

    [Fact]
    public void ReadIndex_8_follower_forwards_to_leader_and_gets_the_answer()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "a");
        net[2].ReadIndex(Ctx("from-follower"));
        net.Stabilize();
        var read = Assert.Single(net.Peers[2].ReadStates);
        Assert.Equal(net[1].Status.Commit, read.Index);
        Assert.Contains(net.Sent, m => m.Type == MessageType.ReadIndexResponse && m.To == 2);
        Assert.Empty(net.Peers[1].ReadStates);
    }

    [Fact]
    public void ReadIndex_8_leader_cut_off_from_quorum_does_not_answer()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Isolate(1);
        net[1].ReadIndex(Ctx("r"));
        net.Stabilize();
        Assert.Empty(net.Peers[1].ReadStates);
    }

    [Fact]
    public void ReadIndex_8_waits_until_the_leader_committed_an_entry_of_its_term()
    {
        var net = TestNetwork.Create(3);
        net.Filter = m => m.Type != MessageType.AppendResponse; // the new leader's no-op cannot commit
        net.Campaign(1);
        Assert.Equal(RaftRole.Leader, net[1].Role);
        net[1].ReadIndex(Ctx("early"));
        net.Stabilize();
        Assert.Empty(net.Peers[1].ReadStates);
        net.Filter = _ => true;
        net.TickAll(2);
        var read = Assert.Single(net.Peers[1].ReadStates);
        Assert.Equal(net[1].Status.Commit, read.Index);
    }

    [Fact]
    public void ReadIndex_8_single_voter_answers_at_once()
    {
        var net = TestNetwork.Create(1);
        net.Elect(1);
        net[1].ReadIndex(Ctx("solo"));
        net.Stabilize();
        Assert.Single(net.Peers[1].ReadStates);
    }

    [Fact]
    public void ReadIndex_8_later_quorum_ack_releases_earlier_requests_in_order()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Filter = m => !(m.Type == MessageType.HeartbeatResponse && m.Context.Span.SequenceEqual(Ctx("first")));
        net[1].ReadIndex(Ctx("first"));
        net.Stabilize();
        Assert.Empty(net.Peers[1].ReadStates);
        net[1].ReadIndex(Ctx("second"));
        net.Stabilize();
        Assert.Equal(["first", "second"], net.Peers[1].ReadStates.Select(r => Encoding.UTF8.GetString(r.RequestContext.Span)));
    }
}
