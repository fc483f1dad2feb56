namespace Trireme.Raft.Core;

/// <summary>
/// A leader's knowledge of one peer (etcd-io/raft's tracker.Progress): Match is the highest index known
/// replicated there, Next the next index to send. The state decides how much may be in flight:
/// Probe sends one Append and waits; Replicate pipelines optimistically within the in-flight bounds;
/// Snapshot sends nothing until the snapshot is reported done.
/// </summary>
internal sealed class Progress
{
    public Progress(ulong next, int maxInflightMessages, long maxInflightBytes, bool isLearner)
    {
        Next = next;
        Inflights = new Inflights(maxInflightMessages, maxInflightBytes);
        IsLearner = isLearner;
    }

    public ulong Match { get; set; }
    public ulong Next { get; set; }
    public ProgressState State { get; private set; }
    public bool IsLearner { get; set; }

    /// <summary>In Probe: an Append is out and we wait for its answer (or a heartbeat response).</summary>
    public bool ProbeSent { get; set; }

    /// <summary>In Snapshot: the index of the snapshot being sent.</summary>
    public ulong PendingSnapshot { get; private set; }

    /// <summary>Election timeouts spent in the Snapshot state, to retry a snapshot that went missing.</summary>
    public int SnapshotElectionTimeouts { get; set; }

    /// <summary>The commit index carried by the last Append sent, so a commit advance is not resent needlessly.</summary>
    public ulong SentCommit { get; set; }

    /// <summary>Heard from since the last CheckQuorum round.</summary>
    public bool RecentActive { get; set; }

    public Inflights Inflights { get; }

    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    public void BecomeProbe()
    {
        // After a snapshot, resume right after it (the follower holds at least that much now).
        var next = State == ProgressState.Snapshot ? Math.Max(Match + 1, PendingSnapshot + 1) : Match + 1;
        Reset(ProgressState.Probe);
        Next = next;
    }

    public void BecomeReplicate()
    {
        Reset(ProgressState.Replicate);
        Next = Match + 1;
    }

    public void BecomeSnapshot(ulong snapshotIndex)
    {
        Reset(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>The peer acknowledged index n. False if the ack is stale (tells us nothing new).</summary>
    public bool MaybeUpdate(ulong n)
    {
        var updated = false;
        if (Match < n)
        {
            Match = n;
            updated = true;
            ProbeSent = false;
        }

        Next = Math.Max(Next, n + 1);
        return updated;
    }

    /// <summary>Replicate: optimistically move Next past a message just sent.</summary>
    public void SentEntries(ulong lastIndex, long bytes)
    {
        if (State == ProgressState.Replicate)
        {
            Next = lastIndex + 1;
            Inflights.Add(lastIndex, bytes);
        }
        else
        {
            ProbeSent = true;
        }
    }

    /// <summary>
    /// The peer rejected an Append at index rejected, hinting its log may match up to matchHint.
    /// False if the rejection is stale (answers a message we no longer care about).
    /// </summary>
    public bool MaybeDecrTo(ulong rejected, ulong matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            return true;
        }

        if (Next == 0 || Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    /// <summary>A new term: forget what we knew, start probing from next.</summary>
    public void ResetTo(ulong match, ulong next)
    {
        Reset(ProgressState.Probe);
        Match = match;
        Next = next;
        RecentActive = false;
        SentCommit = 0;
    }

    private void Reset(ProgressState state)
    {
        State = state;
        ProbeSent = false;
        PendingSnapshot = 0;
        SnapshotElectionTimeouts = 0;
        Inflights.Reset();
    }

    public PeerProgress ToStatus() =>
        new(Match, Next, State, IsLearner, RecentActive, Inflights.Count, Inflights.Bytes);
}
