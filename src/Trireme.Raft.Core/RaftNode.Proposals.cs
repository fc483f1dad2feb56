namespace Trireme.Raft.Core;

/// <summary>Client proposals (Raft §8): the leader appends them; a follower forwards them or names the leader.</summary>
public sealed partial class RaftNode
{
    /// <summary>Proposes an application command. Only Accepted means it is in the leader's log.</summary>
    public ProposeResult Propose(ReadOnlyMemory<byte> data) => ProposeEntry(EntryType.Normal, data);

    /// <summary>
    /// Proposes a membership change. One at a time: Dropped while an earlier one is not yet applied, and
    /// Dropped if it would remove the last voter. It takes effect when applied (at Advance).
    /// </summary>
    public ProposeResult ProposeConfChange(ConfChange change)
    {
        if (change.NodeId == 0 || !Enum.IsDefined(change.Type))
        {
            throw new ArgumentException("a conf change needs a defined type and a node id other than 0", nameof(change));
        }

        if (Role == RaftRole.Leader && RemovesLastVoter(change))
        {
            return new ProposeResult(ProposeOutcome.Dropped, Id);
        }

        return ProposeEntry(EntryType.ConfChange, change.Encode());
    }

    private ProposeResult ProposeEntry(EntryType type, ReadOnlyMemory<byte> data)
    {
        if (Role != RaftRole.Leader)
        {
            return ForwardProposal(type, data);
        }

        var outcome = AppendProposal(type, data);
        if (outcome == ProposeOutcome.Accepted)
        {
            MaybeCommit();
            _appendBroadcastPending = true;
        }

        return new ProposeResult(outcome, Id);
    }

    private ProposeResult ForwardProposal(EntryType type, ReadOnlyMemory<byte> data)
    {
        if (Leader == 0 || !_config.ForwardProposals)
        {
            return new ProposeResult(ProposeOutcome.NotLeader, Leader);
        }

        Send(new Message
        {
            Type = MessageType.Propose, From = Id, To = Leader,
            Entries = [new Entry(0, 0, type, data)],
        });
        return new ProposeResult(ProposeOutcome.Forwarded, Leader);
    }

    /// <summary>A follower forwarded proposals: append them all, replicate once (held during a transfer).</summary>
    private void HandleForwardedProposal(Message m)
    {
        var appended = false;
        foreach (var entry in m.Entries)
        {
            if (entry.Type == EntryType.ConfChange
                && (!ConfChange.TryDecode(entry.Data.Span, out var change) || RemovesLastVoter(change)))
            {
                continue; // malformed or unsafe: the proposer learns nothing, as with any dropped proposal
            }

            if (_leadTransferee != 0)
            {
                HoldProposal(entry); // see RaftNode.Transfer: dropped only if the hold is full
                continue;
            }

            appended |= AppendProposal(entry.Type, entry.Data) == ProposeOutcome.Accepted;
        }

        if (appended)
        {
            MaybeCommit();
            _appendBroadcastPending = true;
        }
    }

    private ProposeOutcome AppendProposal(EntryType type, ReadOnlyMemory<byte> data)
    {
        if (_leadTransferee != 0)
        {
            return ProposeOutcome.Dropped; // the target is catching up; new entries would only delay it
        }

        long size = Entry.OverheadBytes + data.Length;
        if (size > _config.MaxUncommittedEntriesBytes)
        {
            return ProposeOutcome.TooLarge;
        }

        if (_uncommittedBytes > 0 && _uncommittedBytes + size > _config.MaxUncommittedEntriesBytes)
        {
            return ProposeOutcome.Dropped;
        }

        if (type == EntryType.ConfChange)
        {
            if (_pendingConfIndex > _log.Applied)
            {
                return ProposeOutcome.Dropped;
            }

            _pendingConfIndex = _log.LastIndex + 1;
        }

        _uncommittedBytes += size;
        AppendEntry(type, data);
        return ProposeOutcome.Accepted;
    }
}
