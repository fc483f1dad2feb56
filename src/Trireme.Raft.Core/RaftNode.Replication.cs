namespace Trireme.Raft.Core;

/// <summary>
/// Log replication (Raft §5.3) with etcd-io/raft's flow control: batching up to MaxSizePerMessageBytes,
/// pipelining within MaxInflightMessages/MaxInflightBytes per follower, probe/replicate/snapshot states,
/// fast backtracking of a diverged follower by conflicting term, and commit by majority of
/// current-term entries only (§5.4.2).
/// </summary>
public sealed partial class RaftNode
{
    private long _uncommittedBytes;

    /// <summary>
    /// New entries (or a new commit index) wait to be sent until the host takes the next Ready, so every
    /// proposal and ack between two Readys travels in one Append per follower instead of one each.
    /// </summary>
    private bool _appendBroadcastPending;
    private bool _commitBroadcastPending;
    private ulong[] _matchScratch = [];

    private void StepLeader(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Propose:
                HandleForwardedProposal(m);
                return;
            case MessageType.ReadIndex:
                HandleReadIndexRequest(m.From, m.Context);
                return;
            case MessageType.TransferLeader:
                HandleTransferLeader(m.Index);
                return;
            case MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot:
                // Two leaders in one term break election safety (§5.2); only a deliberate fault explains it.
                Invariants.Check(_faults.Any, "a leader received an Append from another leader of its term");
                return;
        }

        if (!_progress.TryGetValue(m.From, out var pr))
        {
            return;
        }

        switch (m.Type)
        {
            case MessageType.AppendResponse:
                HandleAppendResponse(m, pr);
                break;
            case MessageType.HeartbeatResponse:
                HandleHeartbeatResponse(m, pr);
                break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                HeardFromLeader(m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                HeardFromLeader(m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.InstallSnapshot:
                HeardFromLeader(m.From);
                HandleInstallSnapshot(m);
                break;
            case MessageType.Propose or MessageType.ReadIndex or MessageType.TransferLeader:
                ForwardToLeader(m);
                break;
            case MessageType.ReadIndexResponse:
                _readStates.Add(new ReadState(m.Index, m.Context));
                break;
            case MessageType.TimeoutNow:
                Campaign(CampaignKind.Transfer);
                break;
        }
    }

    private void HeardFromLeader(ulong leader)
    {
        _electionElapsedTicks = 0;
        Leader = leader;
        ReleaseHeldProposals();
    }

    private void ForwardToLeader(Message m)
    {
        if (Leader == 0 || (m.Type == MessageType.Propose && !_config.ForwardProposals))
        {
            return;
        }

        Send(new Message
        {
            Type = m.Type, From = m.From, To = Leader, Index = m.Index, Entries = m.Entries, Context = m.Context,
        });
    }

    // ---- follower side ----

    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            // Everything up to our commit is settled; say where we are so the leader skips ahead.
            SendAppendResponse(m.From, _log.Committed);
            return;
        }

        if (_log.MatchTerm(m.Index, m.LogTerm) || SkipLogMatchFault(m.Index))
        {
            var lastNew = _log.AppendAfter(m.Index, m.Entries);
            var commit = Math.Min(m.Commit, lastNew);
            if (commit > _log.Committed)
            {
                _log.CommitTo(commit);
            }

            SendAppendResponse(m.From, lastNew);
            return;
        }

        // Fast backtracking: hint the last index that could match a log whose entry at m.Index has
        // m.LogTerm (no entry of ours above it can), and its term, so the leader can skip a whole term.
        var hint = _log.FindConflictByTerm(Math.Min(m.Index, _log.LastIndex), m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term,
            Index = m.Index, Reject = true, RejectHint = hint, LogTerm = _log.Term(hint),
        });
    }

    private bool SkipLogMatchFault(ulong prevIndex) =>
        _faults.SkipLogMatchCheck && prevIndex <= _log.LastIndex && prevIndex >= _log.SnapshotIndex;

    private void SendAppendResponse(ulong to, ulong index) =>
        Send(new Message { Type = MessageType.AppendResponse, From = Id, To = to, Term = Term, Index = index });

    private void HandleHeartbeat(Message m)
    {
        // The leader sends min(our match, its commit), so this never commits past what we hold.
        var commit = Math.Min(m.Commit, _log.LastIndex);
        if (commit > _log.Committed)
        {
            _log.CommitTo(commit);
        }

        Send(new Message { Type = MessageType.HeartbeatResponse, From = Id, To = m.From, Term = Term, Context = m.Context });
    }

    // ---- leader side ----

    private void HandleAppendResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        if (m.Reject)
        {
            HandleAppendRejection(m, pr);
            return;
        }

        var wasPaused = pr.IsPaused;
        if (!pr.MaybeUpdate(m.Index))
        {
            return;
        }

        AdvanceProgressState(pr, m.Index);
        if (MaybeCommit())
        {
            _commitBroadcastPending = true;
        }

        if (wasPaused)
        {
            SendAppend(m.From, pr, sendIfEmpty: true);
        }

        // Pipelining: keep the window full while there is more to send.
        while (SendAppend(m.From, pr, sendIfEmpty: false))
        {
        }

        if (m.From == _leadTransferee && pr.Match == _log.LastIndex)
        {
            SendTimeoutNow(m.From);
        }
    }

    private void AdvanceProgressState(Progress pr, ulong acked)
    {
        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match >= pr.PendingSnapshot:
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(acked);
                break;
        }
    }

    private void HandleAppendRejection(Message m, Progress pr)
    {
        var nextProbe = m.RejectHint;
        if (m.LogTerm > 0)
        {
            // Skip every entry of ours whose term is above the follower's term at its hint.
            nextProbe = _log.FindConflictByTerm(m.RejectHint, m.LogTerm);
        }

        if (!pr.MaybeDecrTo(m.Index, nextProbe))
        {
            return;
        }

        if (pr.State == ProgressState.Replicate)
        {
            pr.BecomeProbe();
        }

        SendAppend(m.From, pr, sendIfEmpty: true);
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        pr.ProbeSent = false;
        if (pr.State == ProgressState.Replicate && pr.Inflights.Full)
        {
            // The follower is alive: let one more message through so a lost ack cannot stall it forever.
            pr.Inflights.FreeFirstOne();
        }

        if (pr.Match < _log.LastIndex)
        {
            SendAppend(m.From, pr, sendIfEmpty: true);
        }

        if (!m.Context.IsEmpty)
        {
            AckReadIndex(m.From, m.Context);
        }
    }

    /// <summary>Sends what proposals and commit advances since the last Ready have left pending.</summary>
    private void FlushPendingBroadcast()
    {
        if (Role == RaftRole.Leader && (_appendBroadcastPending || _commitBroadcastPending))
        {
            foreach (var (id, pr) in _progress)
            {
                if (id != Id)
                {
                    SendAppend(id, pr, sendIfEmpty: _commitBroadcastPending && pr.SentCommit < _log.Committed);
                }
            }
        }

        _appendBroadcastPending = false;
        _commitBroadcastPending = false;
    }

    private void BroadcastAppend()
    {
        foreach (var (id, pr) in _progress)
        {
            if (id != Id)
            {
                SendAppend(id, pr, sendIfEmpty: true);
            }
        }
    }

    private void BroadcastHeartbeat(ReadOnlyMemory<byte> context)
    {
        foreach (var (id, pr) in _progress)
        {
            if (id != Id)
            {
                Send(new Message
                {
                    Type = MessageType.Heartbeat, From = Id, To = id, Term = Term,
                    Commit = Math.Min(pr.Match, _log.Committed), Context = context,
                });
            }
        }
    }

    /// <summary>
    /// Sends the next batch of entries to a follower unless its progress state pauses it. Falls back to a
    /// snapshot when the entries it needs were compacted. Returns whether a message was sent.
    /// </summary>
    private bool SendAppend(ulong to, Progress pr, bool sendIfEmpty)
    {
        if (pr.IsPaused)
        {
            return false;
        }

        var prevIndex = pr.Next - 1;
        if (!_log.TryTerm(prevIndex, out var prevTerm))
        {
            return SendSnapshot(to, pr);
        }

        var entries = pr.Next <= _log.LastIndex
            ? _log.Slice(pr.Next, _config.MaxSizePerMessageBytes, int.MaxValue)
            : [];
        if (entries.Length == 0 && !sendIfEmpty)
        {
            return false;
        }

        if (entries.Length > 0)
        {
            pr.SentEntries(entries[^1].Index, SizeOf(entries));
        }
        else if (pr.State == ProgressState.Probe)
        {
            pr.ProbeSent = true;
        }

        pr.SentCommit = _log.Committed;
        Send(new Message
        {
            Type = MessageType.Append, From = Id, To = to, Term = Term,
            Index = prevIndex, LogTerm = prevTerm, Entries = entries, Commit = _log.Committed,
        });
        return true;
    }

    private static long SizeOf(Entry[] entries)
    {
        long bytes = 0;
        foreach (var entry in entries)
        {
            bytes += entry.SizeBytes;
        }

        return bytes;
    }

    /// <summary>
    /// Commits the highest index a quorum of voters holds, but only if it is from the current term:
    /// Raft §5.4.2 (Figure 8) — an older-term entry commits only underneath a current-term one.
    /// </summary>
    private bool MaybeCommit()
    {
        var candidate = _faults.CommitWithoutMajority ? _log.LastIndex : QuorumMatchIndex();
        if (candidate <= _log.Committed || _log.Term(candidate) != Term)
        {
            return false;
        }

        var firstInTerm = _log.Term(_log.Committed) != Term;
        _log.CommitTo(candidate);
        if (firstInTerm)
        {
            ReleaseReadsWaitingForTermCommit();
        }

        return true;
    }

    /// <summary>
    /// The largest index replicated on a majority of voters. The leader's own log counts only as far as
    /// the host has made it durable (Raft thesis §10.2.1): a host may send Appends before or while it
    /// writes them itself, and an entry the leader could still lose in a crash must not be counted as held.
    /// </summary>
    private ulong QuorumMatchIndex()
    {
        var count = _voters.Count;
        if (count == 0)
        {
            return 0;
        }

        if (_matchScratch.Length < count)
        {
            _matchScratch = new ulong[count];
        }

        var matches = _matchScratch.AsSpan(0, count);
        for (var i = 0; i < count; i++)
        {
            var id = _voters[i];
            var match = _progress.TryGetValue(id, out var pr) ? pr.Match : 0;
            matches[i] = id == Id ? Math.Min(match, _log.Stable) : match;
        }

        matches.Sort();
        return matches[count - Primitives.Quorum.Majority(count)];
    }

    /// <summary>Leader-side append of one new entry in the current term; the leader's own match follows.</summary>
    private void AppendEntry(EntryType type, ReadOnlyMemory<byte> data)
    {
        var entry = new Entry(Term, _log.LastIndex + 1, type, data);
        _log.Append(entry);
        if (_progress.TryGetValue(Id, out var self))
        {
            self.MaybeUpdate(entry.Index);
        }
    }
}
