namespace Trireme.Raft.Core;

/// <summary>
/// Leadership transfer (thesis §3.10): the leader stops taking proposals, brings the target's log up to
/// date, then sends TimeoutNow; the target campaigns at once, skipping PreVote and bypassing leases.
/// The transfer is abandoned after an election timeout.
/// </summary>
public sealed partial class RaftNode
{
    private ulong _leadTransferee;

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

    private void AbortLeaderTransfer() => _leadTransferee = 0;
}
