using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves the leader's flow control (etcd-io/raft's progress tracking): batches respect
// MaxSizePerMessageBytes, a replicating follower never has more than MaxInflightMessages messages or
// MaxInflightBytes bytes unacknowledged, a probing follower has one, and a diverged follower is
// brought back with few round trips thanks to the conflict-term hint (fast backtracking).
public sealed class FlowControlTests
{
    private static byte[] Payload(int bytes) => new byte[bytes];

    private static int AppendsWithEntriesTo(TestNetwork net, ulong to, int from) =>
        net.Sent.Skip(from).Count(m => m.Type == MessageType.Append && m.To == to && m.Entries.Count > 0);

    [Fact]
    public void FlowControl_replicating_follower_has_at_most_MaxInflightMessages_unacknowledged()
    {
        var net = TestNetwork.Create(3, c => c with { MaxInflightMessages = 3 });
        var leader = net.Elect(1);
        net.Filter = m => !(m.To == 1 && m.From == 2 && m.Type == MessageType.AppendResponse);
        var mark = net.Sent.Count;
        for (var i = 0; i < 10; i++)
        {
            leader.Propose(Payload(10));
            net.Stabilize();
        }

        Assert.Equal(3, AppendsWithEntriesTo(net, 2, mark));
        Assert.Equal(10, AppendsWithEntriesTo(net, 3, mark));
        Assert.Equal(3, leader.Status.Progress[2].InflightMessages);
    }

    [Fact]
    public void FlowControl_replicating_follower_has_bounded_inflight_bytes()
    {
        const int EntryBytes = 100 + Entry.OverheadBytes;
        var net = TestNetwork.Create(3, c => c with { MaxInflightBytes = 3 * EntryBytes });
        var leader = net.Elect(1);
        net.Filter = m => !(m.To == 1 && m.From == 2 && m.Type == MessageType.AppendResponse);
        var mark = net.Sent.Count;
        for (var i = 0; i < 10; i++)
        {
            leader.Propose(Payload(100));
            net.Stabilize();
        }

        Assert.Equal(3, AppendsWithEntriesTo(net, 2, mark));
        Assert.Equal(3L * EntryBytes, leader.Status.Progress[2].InflightBytes);
    }

    [Fact]
    public void FlowControl_paused_follower_resumes_when_acks_arrive()
    {
        var net = TestNetwork.Create(3, c => c with { MaxInflightMessages = 2 });
        var leader = net.Elect(1);
        net.Filter = m => !(m.To == 1 && m.From == 2 && m.Type == MessageType.AppendResponse);
        for (var i = 0; i < 6; i++)
        {
            leader.Propose(Payload(10));
            net.Stabilize();
        }

        net.Filter = _ => true;
        net.TickAll(3);
        Assert.Equal(leader.Status.LastIndex, leader.Status.Progress[2].Match);
        Assert.Equal(ProgressState.Replicate, leader.Status.Progress[2].State);
    }

    [Fact]
    public void FlowControl_batches_respect_MaxSizePerMessageBytes()
    {
        const int Max = 1000;
        var net = TestNetwork.Create(3, c => c with { MaxSizePerMessageBytes = Max });
        net.Elect(1);
        net.Crash(3);
        for (var i = 0; i < 50; i++)
        {
            net[1].Propose(Payload(100));
        }

        net.Stabilize();
        var mark = net.Sent.Count;
        net.Restart(3);
        net.TickAll(3);
        var batches = net.Sent.Skip(mark).Where(m => m.Type == MessageType.Append && m.To == 3 && m.Entries.Count > 0).ToList();
        Assert.NotEmpty(batches);
        Assert.All(batches, m => Assert.True(m.Entries.Count == 1 || m.Entries.Sum(e => e.SizeBytes) <= Max));
        Assert.Contains(batches, m => m.Entries.Count > 1); // it does batch
        Assert.Equal(net[1].Status.LastIndex, net[3].Status.LastIndex);
    }

    [Fact]
    public void FlowControl_a_single_entry_larger_than_the_message_limit_still_goes()
    {
        var net = TestNetwork.Create(3, c => c with { MaxSizePerMessageBytes = 64 });
        net.Elect(1);
        net[1].Propose(Payload(1000));
        net.Stabilize();
        net.TickAll(2);
        Assert.Equal(net[1].Status.LastIndex, net[2].Status.Commit);
    }

    [Fact]
    public void FlowControl_probing_follower_gets_one_append_at_a_time()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        net.Crash(3);
        net.TickAll(1);
        leader.ReportUnreachable(3);
        Assert.Equal(ProgressState.Probe, leader.Status.Progress[3].State);
        var mark = net.Sent.Count;
        for (var i = 0; i < 5; i++)
        {
            leader.Propose(Payload(10));
        }

        net.Stabilize();
        Assert.Equal(1, net.Sent.Skip(mark).Count(m => m.Type == MessageType.Append && m.To == 3));
    }

    [Fact]
    public void Replication_5_3_diverged_follower_is_repaired_with_fast_backtracking()
    {
        var net = TestNetwork.Create(3, c => c with { CheckQuorum = false });
        net.Elect(1);
        net.Isolate(1);
        for (var i = 0; i < 50; i++)
        {
            net[1].Propose(Payload(10)); // never commits: 1 is cut off
        }

        net.Stabilize();
        net.Campaign(2);
        Assert.Equal(RaftRole.Leader, net[2].Role);
        for (var i = 0; i < 60; i++)
        {
            net.Propose(2, $"new{i}");
        }

        // A fresh leader starts probing follower 1 at its own last index, far past the divergence.
        net[2].TransferLeadership(3);
        net.Stabilize();
        Assert.Equal(RaftRole.Leader, net[3].Role);
        var mark = net.Sent.Count;
        net.Heal();
        net.TickAll(3);
        var rejections = net.Sent.Skip(mark).Count(m => m.Type == MessageType.AppendResponse && m.From == 1 && m.Reject);
        Assert.InRange(rejections, 1, 2); // one term to skip, not 50 entries
        Assert.Equal(net.Peers[3].Commands, net.Peers[1].Commands);
        Assert.Equal(net[3].Status.LastIndex, net[1].Status.LastIndex);
    }

    [Fact]
    public void FlowControl_uncommitted_budget_drops_proposals_and_refuses_oversized_ones()
    {
        const int Budget = 10 * (100 + Entry.OverheadBytes);
        var net = TestNetwork.Create(3, c => c with { MaxUncommittedEntriesBytes = Budget });
        var leader = net.Elect(1);
        net.Crash(2);
        net.Crash(3);
        var outcomes = Enumerable.Range(0, 12).Select(_ => leader.Propose(Payload(100)).Outcome).ToList();
        Assert.Equal(10, outcomes.Count(o => o == ProposeOutcome.Accepted));
        Assert.Equal(ProposeOutcome.Dropped, outcomes[^1]);
        Assert.Equal(ProposeOutcome.TooLarge, leader.Propose(Payload(Budget)).Outcome);
    }
}
