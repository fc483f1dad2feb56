namespace Trireme.Raft.Core;

/// <summary>
/// Leadership transfer (thesis §3.10): the leader stops taking proposals, brings the target's log up to
/// date, then sends TimeoutNow; the target campaigns at once, skipping PreVote and bypassing leases.
/// The transfer is abandoned after an election timeout.
/// Its own proposals are refused (Dropped: the caller learns at once). Proposals that followers forward
/// meanwhile are held instead of dropped: dropped, the forwarding member's client would learn nothing and
/// wait out its request timeout (seconds), though the hand-over itself takes a round trip or two. Held
/// proposals go, exactly once, either into this node's log if the transfer is abandoned while it still
/// leads, or to the next leader it learns of as a follower; held for two election timeouts without either
/// (longer than a transfer may run), they are dropped as before.
/// </summary>
public sealed partial class RaftNode
{
    private ulong _leadTransferee;
    private readonly List<Entry> _heldProposals = [];
    private long _heldBytes;
    private int _heldTicks;

    /// <summary>Asks the leader (this node or, via a message, the known leader) to hand leadership to target.</summary>
    public void TransferLeadership(ulong target)
    {
        if (Role == RaftRole.Leader)
        {
            HandleTransferLeader(target);
        }
        else if (Leader != 0)
        {
            // The target travels in Index so that From stays the real sender.
            Send(new Message { Type = MessageType.TransferLeader, From = Id, To = Leader, Index = target });
        }
    }

    private void HandleTransferLeader(ulong target)
    {
        if (target == Id || !_progress.TryGetValue(target, out var pr) || pr.IsLearner)
        {
            return;
        }

        if (_leadTransferee == target)
        {
            return;
        }

        AbortLeaderTransfer();
        _leadTransferee = target;
        _electionElapsedTicks = 0; // the transfer gets one election timeout to finish
        if (pr.Match == _log.LastIndex)
        {
            SendTimeoutNow(target);
        }
        else
        {
            SendAppend(target, pr, sendIfEmpty: true);
        }
    }

    private void SendTimeoutNow(ulong to) =>
        Send(new Message { Type = MessageType.TimeoutNow, From = Id, To = to, Term = Term });

    private void AbortLeaderTransfer()
    {
        _leadTransferee = 0;
        ReleaseHeldProposals();
    }

    /// <summary>Keeps a proposal forwarded during a transfer; false when the hold is full (then dropped).</summary>
    private bool HoldProposal(Entry entry)
    {
        long size = Entry.OverheadBytes + entry.Data.Length;
        if (_heldBytes + size > _config.MaxUncommittedEntriesBytes)
        {
            return false;
        }

        if (_heldProposals.Count == 0)
        {
            _heldTicks = 0;
        }

        _heldProposals.Add(entry);
        _heldBytes += size;
        return true;
    }

    /// <summary>
    /// Hands held proposals on once it is clear who takes them: appended here when this node leads with no
    /// transfer running, forwarded to the leader when this node follows a known one. Otherwise (candidate,
    /// leader unknown) they wait, up to two election timeouts (<see cref="ExpireHeldProposals"/>).
    /// </summary>
    private void ReleaseHeldProposals()
    {
        if (_heldProposals.Count == 0)
        {
            return;
        }

        if (Role == RaftRole.Leader && _leadTransferee == 0)
        {
            var appended = false;
            foreach (var entry in _heldProposals)
            {
                appended |= AppendProposal(entry.Type, entry.Data) == ProposeOutcome.Accepted;
            }

            ClearHeldProposals();
            if (appended)
            {
                MaybeCommit();
                _appendBroadcastPending = true;
            }
        }
        else if (Role == RaftRole.Follower && Leader != 0 && Leader != Id)
        {
            if (_config.ForwardProposals)
            {
                Send(new Message { Type = MessageType.Propose, From = Id, To = Leader, Entries = [.. _heldProposals] });
            }

            ClearHeldProposals();
        }
    }

    /// <summary>Called every tick: proposals nobody could take within two election timeouts are dropped.</summary>
    private void ExpireHeldProposals()
    {
        if (_heldProposals.Count > 0 && ++_heldTicks >= 2 * _config.ElectionTicks)
        {
            ClearHeldProposals();
        }
    }

    private void ClearHeldProposals()
    {
        _heldProposals.Clear();
        _heldBytes = 0;
        _heldTicks = 0;
    }
}
