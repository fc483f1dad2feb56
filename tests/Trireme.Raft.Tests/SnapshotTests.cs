using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves log compaction and snapshots (Raft §7): Compact drops the log prefix and keeps the
// application's snapshot; a follower behind the compacted log receives it as InstallSnapshot (seen by
// its host as Ready.Snapshot), then the entries after it; ReportSnapshotStatus moves the leader's
// progress on; a node restarts from snapshot plus entries with its configuration intact.
public sealed class SnapshotTests
{
    private static void CompactLeaderAndHost(TestNetwork net, ulong id, string data)
    {
        var node = net[id];
        var applied = node.Status.Applied;
        node.Compact(applied, System.Text.Encoding.UTF8.GetBytes(data));
        net.Peers[id].Storage.Compact(new Snapshot(
            new SnapshotMetadata(applied, node.Status.Term, node.Status.ConfState), System.Text.Encoding.UTF8.GetBytes(data)));
    }

    [Fact]
    public void Compaction_7_compact_drops_the_log_prefix()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        for (var i = 0; i < 10; i++)
        {
            net.Propose(1, $"e{i}");
        }

        var applied = net[1].Status.Applied;
        net[1].Compact(applied, "snap"u8.ToArray());
        Assert.Equal(applied + 1, net[1].Status.FirstIndex);
        Assert.Throws<ArgumentOutOfRangeException>(() => net[1].Compact(applied + 100, default));
    }

    [Fact]
    public void Compaction_7_follower_behind_the_compacted_log_gets_install_snapshot()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(3);
        for (var i = 0; i < 10; i++)
        {
            net.Propose(1, $"e{i}");
        }

        CompactLeaderAndHost(net, 1, "image");
        net.Propose(1, "after");
        net.Restart(3);
        net.TickAll(3);

        var follower = net.Peers[3];
        Assert.Contains(follower.Readys, r => r.Snapshot is not null);
        Assert.Equal("image", System.Text.Encoding.UTF8.GetString(follower.AppliedSnapshot!.Data.Span));
        Assert.Equal(["after"], follower.Commands);
        Assert.Equal(net[1].Status.Commit, follower.Node.Status.Commit);
        Assert.Contains(net.Sent, m => m.Type == MessageType.InstallSnapshot && m.To == 3);
        Assert.Equal(ProgressState.Replicate, net[1].Status.Progress[3].State);
    }

    [Fact]
    public void Compaction_7_snapshot_carries_configuration_to_the_follower()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Crash(3);
        net.Propose(1, "x");
        CompactLeaderAndHost(net, 1, "image");
        net.Restart(3);
        net.TickAll(3);
        Assert.Equal([1UL, 2, 3], net[3].Status.ConfState.Voters);
    }

    [Fact]
    public void Compaction_7_node_restarts_from_snapshot_and_entries()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "a");
        CompactLeaderAndHost(net, 1, "image");
        net.Propose(1, "b");
        var before = net[1].Status;
        net.Crash(1);
        net.Restart(1);
        net.Stabilize();
        var after = net[1].Status;
        Assert.Equal(before.Term, after.Term);
        Assert.Equal(before.LastIndex, after.LastIndex);
        Assert.Equal(before.Commit, after.Commit);
        Assert.Equal(before.FirstIndex, after.FirstIndex);
        Assert.Equal([1UL, 2, 3], after.ConfState.Voters);
        Assert.Equal(["b"], net.Peers[1].Commands); // re-applied from the snapshot on
    }

    [Fact]
    public void Compaction_7_failed_snapshot_report_returns_the_follower_to_probe()
    {
        var net = TestNetwork.Create(3);
        var leader = net.Elect(1);
        net.Crash(3);
        net.Propose(1, "x");
        CompactLeaderAndHost(net, 1, "image");
        net.Filter = m => m.Type != MessageType.InstallSnapshot; // the transfer fails
        net.Restart(3);
        net.TickAll(1);
        Assert.Equal(ProgressState.Snapshot, leader.Status.Progress[3].State);
        leader.ReportSnapshotStatus(3, succeeded: false);
        Assert.Equal(ProgressState.Probe, leader.Status.Progress[3].State);
        net.Filter = _ => true;
        net.TickAll(3);
        Assert.Equal(leader.Status.LastIndex, leader.Status.Progress[3].Match);
    }

    [Fact]
    public void Compaction_7_snapshot_at_or_below_commit_is_ignored_but_acknowledged()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net.Propose(1, "x");
        var follower = net[2];
        var commit = follower.Status.Commit;
        var meta = new SnapshotMetadata(commit - 1, 1, new ConfState([1, 2, 3], []));
        follower.Step(new Message { Type = MessageType.InstallSnapshot, From = 1, To = 2, Term = follower.Term, Snapshot = new Snapshot(meta, default) });
        var ready = follower.TakeReady();
        Assert.Null(ready.Snapshot);
        var response = Assert.Single(ready.Messages);
        Assert.Equal(commit, response.Index);
    }
}
