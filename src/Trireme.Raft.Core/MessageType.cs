namespace Trireme.Raft.Core;

/// <summary>
/// Kinds of Raft message. The byte values are persisted and sent on the wire, so they are frozen by a
/// test (MessageTypeTests): append new kinds at the end, never renumber.
/// </summary>
public enum MessageType : byte
{
    Append = 1,
    AppendResponse,
    Heartbeat,
    HeartbeatResponse,
    Vote,
    VoteResponse,
    PreVote,
    PreVoteResponse,
    InstallSnapshot,
    ReadIndex,
    ReadIndexResponse,
    TimeoutNow,
    Propose,
    TransferLeader,
}
