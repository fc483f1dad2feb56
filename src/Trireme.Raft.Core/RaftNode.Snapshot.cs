namespace Trireme.Raft.Core;

/// <summary>
/// Log compaction and snapshots (Raft §7): the application snapshots its state at an applied index, the
/// core drops the log before it and sends that snapshot to any follower that needs a compacted entry.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>
    /// The application took a snapshot of its state at appliedIndex (&lt;= the applied index). The core
    /// keeps it to send to laggards and drops entries up to it. The host persists the snapshot itself.
    /// </summary>
    public void Compact(ulong appliedIndex, ReadOnlyMemory<byte> stateMachineSnapshot)
    {
        if (appliedIndex > _log.Applied)
        {
            throw new ArgumentOutOfRangeException(nameof(appliedIndex), appliedIndex, "compaction beyond the applied index");
        }

        if (appliedIndex <= _log.SnapshotIndex)
        {
            return;
        }

        // The snapshot records the configuration in force at its index; a change applied after it
        // would be recorded too early, so that combination is a host bug.
        if (_log.ContainsType(appliedIndex, _log.Applied, EntryType.ConfChange))
        {
            throw new ArgumentException("a conf change was applied after appliedIndex: compact at the applied index", nameof(appliedIndex));
        }

        var metadata = new SnapshotMetadata(appliedIndex, _log.Term(appliedIndex), CurrentConfState());
        _log.Compact(new Snapshot(metadata, stateMachineSnapshot));
    }

    private bool SendSnapshot(ulong to, Progress pr)
    {
        if (!pr.RecentActive)
        {
            return false; // don't ship a whole state machine to a peer that may be down
        }

        var snapshot = _log.Snapshot;
        Invariants.Check(snapshot is not null, "entries were compacted but no snapshot is kept");
        pr.BecomeSnapshot(snapshot!.Metadata.Index);
        Send(new Message { Type = MessageType.InstallSnapshot, From = Id, To = to, Term = Term, Snapshot = snapshot });
        return true;
    }

    private void HandleInstallSnapshot(Message m)
    {
        if (m.Snapshot is not { } snapshot)
        {
            return;
        }

        var meta = snapshot.Metadata;
        if (meta.Index <= _log.Committed)
        {
            SendAppendResponse(m.From, _log.Committed);
            return;
        }

        if (_log.MatchTerm(meta.Index, meta.Term))
        {
            // We already hold the entry: the snapshot only tells us it is committed.
            _log.CommitTo(meta.Index);
            SendAppendResponse(m.From, _log.Committed);
            return;
        }

        _log.InstallSnapshot(snapshot);
        ApplyConfState(meta.ConfState);
        _configIndex = meta.Index;
        SendAppendResponse(m.From, _log.LastIndex);
    }

    /// <summary>The host tells the leader whether sending a snapshot to peer worked.</summary>
    public void ReportSnapshotStatus(ulong peer, bool succeeded)
    {
        if (Role != RaftRole.Leader || !_progress.TryGetValue(peer, out var pr) || pr.State != ProgressState.Snapshot)
        {
            return;
        }

        if (!succeeded)
        {
            pr.BecomeSnapshot(0); // forget the index: probing resumes from Match
        }

        // Either way, wait for the next heartbeat response before sending more (etcd-io/raft does the same).
        pr.BecomeProbe();
        pr.ProbeSent = true;
    }

    /// <summary>
    /// A follower left in the snapshot state for a whole election timeout (the snapshot or its report was
    /// lost) goes back to probing, which resends the snapshot if it is still needed.
    /// </summary>
    private void RetryStuckSnapshots()
    {
        foreach (var pr in _progress.Values)
        {
            if (pr.State != ProgressState.Snapshot)
            {
                continue;
            }

            if (pr.SnapshotElectionTimeouts++ >= 1)
            {
                pr.BecomeProbe();
            }
        }
    }

    /// <summary>The host could not deliver to peer: stop pipelining to it and probe again.</summary>
    public void ReportUnreachable(ulong peer)
    {
        if (Role == RaftRole.Leader && _progress.TryGetValue(peer, out var pr) && pr.State == ProgressState.Replicate)
        {
            pr.BecomeProbe();
        }
    }
}
