namespace Trireme.Raft.Core;

/// <summary>
/// One Raft message between peers. Field meanings follow etcd-io/raft's raftpb.Message:
/// for Append, (LogTerm, Index) name the entry that precedes Entries; for a rejected AppendResponse,
/// Index is the rejected prev index and (RejectHint, LogTerm) the follower's guess at the last entry that
/// might match; for Vote/PreVote, (LogTerm, Index) describe the candidate's last entry.
/// A message is immutable once built; the core never mutates one it has handed out.
/// </summary>
public sealed class Message
{
    public MessageType Type { get; init; }
    public ulong From { get; init; }
    public ulong To { get; init; }
    public ulong Term { get; init; }
    public ulong LogTerm { get; init; }
    public ulong Index { get; init; }
    public ulong Commit { get; init; }
    public IReadOnlyList<Entry> Entries { get; init; } = [];
    public bool Reject { get; init; }
    public ulong RejectHint { get; init; }
    public Snapshot? Snapshot { get; init; }
    public ReadOnlyMemory<byte> Context { get; init; }

    public override string ToString() =>
        $"{Type} {From}->{To} term={Term} logTerm={LogTerm} index={Index} commit={Commit} " +
        $"entries={Entries.Count} reject={Reject} hint={RejectHint}";
}
