namespace Trireme.Raft.Core;

/// <summary>
/// Exactly what the host had made durable from earlier Readys: the last HardState, the last snapshot
/// and the log entries after it (in index order, later writes having overwritten conflicting suffixes).
/// An empty state (default HardState, no snapshot, no entries) starts a new joiner.
/// </summary>
public sealed record RaftPersistedState(HardState HardState, Snapshot? Snapshot, IReadOnlyList<Entry> Entries)
{
    public static RaftPersistedState Empty { get; } = new(default, null, []);
}
