namespace Trireme.Raft.Core;

/// <summary>Terms, roles, elections (Raft §5.2), PreVote (thesis §9.6) and CheckQuorum leases (thesis §6.2).</summary>
public sealed partial class RaftNode
{
    /// <summary>Vote requests carrying this context come from a leadership transfer: they bypass leases.</summary>
    private static readonly byte[] TransferCampaignContext = "CampaignTransfer"u8.ToArray();

    private readonly Dictionary<ulong, bool> _votes = [];

    private enum CampaignKind
    {
        PreElection,
        Election,
        Transfer,
    }

    /// <summary>
    /// Applies the term rules every message obeys (Raft §5.1). Returns false when the message must be
    /// dropped. A higher term turns us into a follower, except for vote requests that a lease ignores and
    /// for PreVote traffic, which never changes terms.
    /// </summary>
    private bool CheckTerm(Message m)
    {
        if (m.Term == 0 || m.Term == Term)
        {
            return true;
        }

        if (m.Term > Term)
        {
            return StepHigherTerm(m);
        }

        RespondToLowerTerm(m);
        return false;
    }

    private bool StepHigherTerm(Message m)
    {
        if (m.Type is MessageType.Vote or MessageType.PreVote)
        {
            var forced = m.Context.Span.SequenceEqual(TransferCampaignContext);
            var inLease = _config.CheckQuorum && Leader != 0 && _electionElapsedTicks < _config.ElectionTicks;
            if (inLease && !forced)
            {
                // We heard from a live leader within the election timeout: a disruptive candidate
                // (e.g. one returning from a partition) must not depose it.
                return false;
            }
        }

        if (m.Type == MessageType.PreVote || (m.Type == MessageType.PreVoteResponse && !m.Reject))
        {
            // A pre-vote is a hypothetical election for Term+1; it changes nobody's term.
            return true;
        }

        var leader = m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot ? m.From : 0;
        BecomeFollower(m.Term, leader);
        return true;
    }

    private void RespondToLowerTerm(Message m)
    {
        if ((_config.CheckQuorum || _config.PreVote) && m.Type is MessageType.Append or MessageType.Heartbeat)
        {
            // A stale leader (e.g. back from a partition, while we never raised our term thanks to
            // PreVote) would otherwise never learn of the newer term: tell it so it steps down.
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term });
        }
        else if (m.Type == MessageType.PreVote)
        {
            Send(new Message { Type = MessageType.PreVoteResponse, From = Id, To = m.From, Term = Term, Reject = true });
        }
    }

    private void HandleVoteRequest(Message m)
    {
        var isPreVote = m.Type == MessageType.PreVote;
        var responseType = isPreVote ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        var canVote = Vote == m.From
            || (Vote == 0 && Leader == 0)
            || (isPreVote && m.Term > Term)
            || _faults.VoteTwiceInTerm;
        if (!canVote || !_log.IsUpToDate(m.Index, m.LogTerm))
        {
            Send(new Message { Type = responseType, From = Id, To = m.From, Term = Term, Reject = true });
            return;
        }

        // A granted pre-vote answers in the candidate's prospective term so that it can count it.
        Send(new Message { Type = responseType, From = Id, To = m.From, Term = m.Term });
        if (!isPreVote)
        {
            Invariants.Check(Vote == 0 || Vote == m.From || _faults.VoteTwiceInTerm, "voting twice in one term");
            _electionElapsedTicks = 0;
            Vote = m.From;
        }
    }

    private void TickElection()
    {
        _electionElapsedTicks++;
        if (Promotable && _electionElapsedTicks >= _randomizedElectionTimeoutTicks)
        {
            _electionElapsedTicks = 0;
            Campaign(_config.PreVote ? CampaignKind.PreElection : CampaignKind.Election);
        }
    }

    private void TickLeader()
    {
        _heartbeatElapsedTicks++;
        _electionElapsedTicks++;
        if (_electionElapsedTicks >= _config.ElectionTicks)
        {
            _electionElapsedTicks = 0;
            if (_config.CheckQuorum && !QuorumRecentlyActive())
            {
                // Thesis §6.2: a leader that cannot reach a quorum steps down rather than serve stale reads.
                BecomeFollower(Term, 0);
                return;
            }

            AbortLeaderTransfer();
            RetryStuckSnapshots();
        }

        if (_heartbeatElapsedTicks >= _config.HeartbeatTicks)
        {
            _heartbeatElapsedTicks = 0;
            BroadcastHeartbeat(_readIndex.LastContext);
        }
    }

    /// <summary>Counts voters heard from since the last check (self included) and clears the marks.</summary>
    private bool QuorumRecentlyActive()
    {
        var active = 0;
        foreach (var voter in _voters)
        {
            if (voter == Id || (_progress.TryGetValue(voter, out var pr) && pr.RecentActive))
            {
                active++;
            }
        }

        foreach (var pr in _progress.Values)
        {
            pr.RecentActive = false;
        }

        return active >= Primitives.Quorum.Majority(_voters.Count);
    }

    private void Campaign(CampaignKind kind)
    {
        if (!Promotable)
        {
            return;
        }

        MessageType requestType;
        ulong requestTerm;
        if (kind == CampaignKind.PreElection)
        {
            BecomePreCandidate();
            requestType = MessageType.PreVote;
            requestTerm = Term + 1;
        }
        else
        {
            BecomeCandidate();
            requestType = MessageType.Vote;
            requestTerm = Term;
        }

        if (RecordVote(Id, granted: true) == VoteTally.Won)
        {
            OnElectionWon();
            return;
        }

        var context = kind == CampaignKind.Transfer ? TransferCampaignContext : ReadOnlyMemory<byte>.Empty;
        foreach (var voter in _voters)
        {
            if (voter != Id)
            {
                Send(new Message
                {
                    Type = requestType, From = Id, To = voter, Term = requestTerm,
                    Index = _log.LastIndex, LogTerm = _log.LastTerm, Context = context,
                });
            }
        }
    }

    private void OnElectionWon()
    {
        if (Role == RaftRole.PreCandidate)
        {
            Campaign(CampaignKind.Election);
        }
        else
        {
            BecomeLeader();
        }
    }

    private enum VoteTally
    {
        Pending,
        Won,
        Lost,
    }

    private VoteTally RecordVote(ulong from, bool granted)
    {
        if (IsVoter(from))
        {
            _votes.TryAdd(from, granted);
        }

        // Tally against the voters of *now*: a vote recorded under an earlier configuration (this node's
        // own, cast before an applied change removed it) must not count. Found by simulator seed
        // 264142: a node told to campaign while its removal was being applied won with its own stale
        // vote plus one other, without the entry a majority of the new configuration had committed.
        int yes = 0, no = 0;
        foreach (var (voter, vote) in _votes)
        {
            if (!IsVoter(voter))
            {
                continue;
            }

            if (vote)
            {
                yes++;
            }
            else
            {
                no++;
            }
        }

        var majority = Primitives.Quorum.Majority(_voters.Count);
        if (yes >= majority)
        {
            return VoteTally.Won;
        }

        return no > _voters.Count - majority ? VoteTally.Lost : VoteTally.Pending;
    }

    private void StepCandidate(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot:
                // Someone won this term (Raft §5.2): follow it.
                BecomeFollower(m.Term, m.From);
                StepFollower(m);
                break;
            case MessageType.PreVoteResponse when Role == RaftRole.PreCandidate:
            case MessageType.VoteResponse when Role == RaftRole.Candidate:
                CountVoteResponse(m);
                break;
        }
    }

    private void CountVoteResponse(Message m)
    {
        if (Role == RaftRole.PreCandidate && !m.Reject && m.Term != Term + 1)
        {
            return; // a grant left over from an earlier pre-campaign
        }

        switch (RecordVote(m.From, !m.Reject))
        {
            case VoteTally.Won:
                OnElectionWon();
                break;
            case VoteTally.Lost:
                BecomeFollower(Term, 0);
                break;
        }
    }

    private void BecomeFollower(ulong term, ulong leader)
    {
        Reset(term);
        Leader = leader;
        Role = RaftRole.Follower;
        ReleaseHeldProposals();
    }

    private void BecomePreCandidate()
    {
        Invariants.Check(Role != RaftRole.Leader, "a leader cannot become a pre-candidate");
        // Neither term nor vote change: a pre-election is only a question.
        _votes.Clear();
        Leader = 0;
        Role = RaftRole.PreCandidate;
    }

    private void BecomeCandidate()
    {
        Invariants.Check(Role != RaftRole.Leader, "a leader cannot become a candidate");
        Reset(Term + 1);
        Vote = Id;
        Role = RaftRole.Candidate;
    }

    private void BecomeLeader()
    {
        Invariants.Check(Role == RaftRole.Candidate, "only a candidate becomes leader");
        Reset(Term);
        Leader = Id;
        Role = RaftRole.Leader;
        if (_progress.TryGetValue(Id, out var self))
        {
            self.BecomeReplicate();
            self.RecentActive = true;
        }

        // A conf change may sit uncommitted in the log we inherit; be conservative until it applies.
        _pendingConfIndex = _log.LastIndex;

        // Raft §5.4.2: commit an entry of our own term so that earlier entries commit with it (Figure 8),
        // and ReadIndex becomes available (§8) once it has.
        AppendEntry(EntryType.Normal, ReadOnlyMemory<byte>.Empty);
        MaybeCommit();
        BroadcastAppend();
        ReleaseHeldProposals(); // proposals held by an earlier transfer of ours, if any
    }

    /// <summary>What every role change shares: new term (with a fresh vote), timers, votes, progress.</summary>
    private void Reset(ulong term)
    {
        if (term != Term)
        {
            if (term < Term)
            {
                throw Invariants.Violation($"term going backwards ({Term} -> {term})");
            }

            Term = term;
            Vote = 0;
        }

        Leader = 0;
        _electionElapsedTicks = 0;
        _heartbeatElapsedTicks = 0;
        _randomizedElectionTimeoutTicks = _random.Next(_config.ElectionTicks, 2 * _config.ElectionTicks);
        _leadTransferee = 0;
        _votes.Clear();
        _uncommittedBytes = 0;
        _readIndex.Clear();
        foreach (var (id, pr) in _progress)
        {
            pr.ResetTo(id == Id ? _log.LastIndex : 0, _log.LastIndex + 1);
        }
    }
}
