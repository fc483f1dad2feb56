namespace Trireme.Raft.Core;

/// <summary>
/// Linearizable reads without a log write (Raft §8 / thesis §6.4): the leader records its commit index,
/// confirms with a quorum heartbeat round that it still leads, then answers with that index. It must
/// first have committed an entry of its own term, or its commit index might lag the previous leader's.
/// </summary>
public sealed partial class RaftNode
{
    private readonly ReadIndexQueue _readIndex;
    private readonly List<(ulong From, ReadOnlyMemory<byte> Context)> _readsWaitingForTermCommit = [];
    private List<ReadState> _readStates = [];

    /// <summary>
    /// Asks for a read index; the answer arrives as a Ready.ReadStates entry with the same context. On a
    /// follower the request goes to the leader. Without a known leader, or when the leader's queue is
    /// full, the request is dropped silently and the client retries (contexts must be unique).
    /// </summary>
    public void ReadIndex(ReadOnlyMemory<byte> requestContext)
    {
        if (Role == RaftRole.Leader)
        {
            HandleReadIndexRequest(Id, requestContext);
        }
        else if (Leader != 0)
        {
            Send(new Message { Type = MessageType.ReadIndex, From = Id, To = Leader, Context = requestContext });
        }
    }

    private void HandleReadIndexRequest(ulong from, ReadOnlyMemory<byte> context)
    {
        if (_voters.Count == 1 && _voters[0] == Id)
        {
            AnswerRead(from, _log.Committed, context); // a single voter is its own quorum
            return;
        }

        if (_log.Term(_log.Committed) != Term)
        {
            if (_readsWaitingForTermCommit.Count < _config.MaxPendingReadIndexRequests)
            {
                _readsWaitingForTermCommit.Add((from, context));
            }

            return;
        }

        var request = new ReadIndexQueue.Request(_log.Committed, from, context);
        if (_readIndex.TryAdd(request))
        {
            request.Acks.Add(Id);
            BroadcastHeartbeat(context);
        }
    }

    private void AckReadIndex(ulong from, ReadOnlyMemory<byte> context)
    {
        if (!IsVoter(from) || _readIndex.Ack(from, context) < Primitives.Quorum.Majority(_voters.Count))
        {
            return;
        }

        foreach (var request in _readIndex.ReleaseThrough(context))
        {
            AnswerRead(request.From, request.Index, request.Context);
        }
    }

    private void AnswerRead(ulong to, ulong index, ReadOnlyMemory<byte> context)
    {
        if (to == Id)
        {
            _readStates.Add(new ReadState(index, context));
        }
        else
        {
            Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = to, Term = Term, Index = index, Context = context });
        }
    }

    private void ReleaseReadsWaitingForTermCommit()
    {
        if (_readsWaitingForTermCommit.Count == 0)
        {
            return;
        }

        var waiting = _readsWaitingForTermCommit.ToArray();
        _readsWaitingForTermCommit.Clear();
        foreach (var (from, context) in waiting)
        {
            HandleReadIndexRequest(from, context);
        }
    }
}
