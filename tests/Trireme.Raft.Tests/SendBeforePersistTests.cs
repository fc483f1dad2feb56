using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Proves the contract that lets a leader's host send its Appends before (or while) it writes them itself
// (Raft thesis §10.2.1): Ready.MaySendBeforePersist is set only on a leader whose term and vote are
// already durable and whose Ready holds no snapshot; the leader's own entries count towards commit only
// once its host has advanced the Ready that carried them, so followers alone can commit an entry (they
// are a majority without the leader), but one follower plus a leader still writing cannot. Driven by
// hand on TestNetwork: Readys are taken, messages delivered and Advance called in the orders a
// pipelined host produces.
public sealed class SendBeforePersistTests
{
    [Fact]
    public void Leader_ready_with_durable_term_may_send_before_persist()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        net[1].Propose("x"u8.ToArray());
        var ready = net[1].TakeReady();
        Assert.True(ready.MaySendBeforePersist);
        Assert.NotEmpty(ready.Entries);
        Assert.Contains(ready.Messages, m => m.Type == MessageType.Append);
        net[1].Advance(ready);
    }

    [Fact]
    public void Candidate_and_follower_readies_must_persist_first()
    {
        var net = TestNetwork.Create(3);
        while (net[1].Role == RaftRole.Follower)
        {
            net[1].Tick();
        }

        // Pre-vote, then the real vote for itself (which must be durable before it asks anyone).
        while (net[1].Role != RaftRole.Leader)
        {
            var campaign = net[1].TakeReady();
            Assert.False(campaign.MaySendBeforePersist);
            net.Peers[1].Storage.Persist(campaign);
            net[1].Advance(campaign);
            net.Queue.AddRange(campaign.Messages);
            net.DeliverAll();
            net.Queue.AddRange(net.Peers[2].HandleReady());
            net.Queue.AddRange(net.Peers[3].HandleReady());
            net.DeliverAll();
        }

        net.Stabilize();

        net[1].Propose("x"u8.ToArray());
        net.Queue.AddRange(net.Peers[1].HandleReady());
        net.DeliverAll();
        var follower = net[2].TakeReady();
        Assert.False(follower.MaySendBeforePersist); // its ack must not outrun its disk
        Assert.Contains(follower.Messages, m => m.Type == MessageType.AppendResponse);
        net[2].Advance(follower);
    }

    [Fact]
    public void Leader_entry_not_yet_durable_needs_both_followers_to_commit()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        var commitBefore = net[1].Status.Commit;
        net[1].Propose("x"u8.ToArray());
        var ready = net[1].TakeReady(); // sent at once; the leader's own write is still under way
        var entry = Assert.Single(ready.Entries).Index;

        // One follower holds it: with the leader's copy not durable that is one of three, no quorum.
        var ack2 = AckFrom(net, 2, ready.Messages);
        net[1].Step(ack2);
        Assert.Equal(commitBefore, net[1].Status.Commit);

        // Both followers hold it durably: a majority without the leader, so it commits.
        var ack3 = AckFrom(net, 3, ready.Messages);
        net[1].Step(ack3);
        Assert.Equal(entry, net[1].Status.Commit);

        // Applying still waits for the leader's own write (apply only what is durable here).
        net.Peers[1].Storage.Persist(ready);
        net[1].Advance(ready);
        var next = net[1].TakeReady();
        Assert.Contains(next.CommittedEntries, e => e.Index == entry);
        net[1].Advance(next);
    }

    [Fact]
    public void Leader_entry_commits_at_advance_when_a_follower_acked_during_the_write()
    {
        var net = TestNetwork.Create(3);
        net.Elect(1);
        var commitBefore = net[1].Status.Commit;
        net[1].Propose("x"u8.ToArray());
        var ready = net[1].TakeReady();
        var entry = Assert.Single(ready.Entries).Index;
        net[1].Step(AckFrom(net, 2, ready.Messages));
        Assert.Equal(commitBefore, net[1].Status.Commit);

        net.Peers[1].Storage.Persist(ready);
        net[1].Advance(ready); // now durable here: leader + follower 2 are a majority
        Assert.Equal(entry, net[1].Status.Commit);
        var next = net[1].TakeReady();
        Assert.Equal(entry, next.HardState?.Commit);
        Assert.Contains(next.CommittedEntries, e => e.Index == entry);
        Assert.Contains(next.Messages, m => m.Type == MessageType.Append && m.To == 2 && m.Commit == entry);
        net[1].Advance(next);
    }

    [Fact]
    public void Single_voter_commits_its_entry_once_durable()
    {
        var net = TestNetwork.Create(1);
        net.Elect(1);
        var commitBefore = net[1].Status.Commit;
        net[1].Propose("x"u8.ToArray());
        Assert.Equal(commitBefore, net[1].Status.Commit); // not durable anywhere yet
        var ready = net[1].TakeReady();
        Assert.Empty(ready.CommittedEntries);
        net.Peers[1].Storage.Persist(ready);
        net[1].Advance(ready);
        Assert.Equal(ready.Entries[^1].Index, net[1].Status.Commit);
        net.Stabilize();
        Assert.Equal(["x"], net.Peers[1].Commands);
    }

    /// <summary>Delivers the leader's Append for <paramref name="follower"/>, lets the follower persist
    /// and advance, and returns its acknowledgement.</summary>
    private static Message AckFrom(TestNetwork net, ulong follower, IReadOnlyList<Message> leaderMessages)
    {
        foreach (var m in leaderMessages.Where(m => m.To == follower))
        {
            net[follower].Step(m);
        }

        var replies = net.Peers[follower].HandleReady();
        return Assert.Single(replies, m => m.Type == MessageType.AppendResponse && !m.Reject);
    }
}
