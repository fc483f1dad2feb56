namespace Trireme.Raft.Core;

/// <summary>
/// Work the host must do for the core, handed out by <see cref="RaftNode.TakeReady"/>. Ordering is the
/// whole contract:
/// 1. persist HardState, Snapshot and Entries durably (fsync when MustSync) — Entries may start below
///    the host's last index, in which case they overwrite the conflicting suffix;
/// 2. only then send Messages (a vote or an acknowledgement must never outrun the disk) — except when
///    <see cref="MaySendBeforePersist"/> is set: then the host may send them first, or while it writes;
/// 3. apply CommittedEntries in order (the core only hands out entries already durable locally);
/// 4. serve ReadStates once the applied index reaches their Index;
/// 5. call <see cref="RaftNode.Advance"/> with this Ready. There is at most one outstanding Ready.
/// </summary>
public sealed class Ready
{
    public HardState? HardState { get; init; }
    public IReadOnlyList<Entry> Entries { get; init; } = [];
    public Snapshot? Snapshot { get; init; }
    public IReadOnlyList<Message> Messages { get; init; } = [];
    public IReadOnlyList<Entry> CommittedEntries { get; init; } = [];
    public IReadOnlyList<ReadState> ReadStates { get; init; } = [];
    public SoftState? SoftState { get; init; }

    /// <summary>True when the HardState's term or vote changed or entries must be written: fsync before sending.</summary>
    public bool MustSync { get; init; }

    /// <summary>
    /// True when no message in this Ready reveals state that must be durable first: this node is the
    /// leader, its term and vote are the ones already persisted, and there is no snapshot. Its messages
    /// are Appends of its own log, heartbeats and answers about commit, which followers may act on while
    /// the leader's own write is still under way (Raft thesis §10.2.1, etcd's leader does the same). The
    /// leader's own entries count towards commit only once durable — i.e. after <see cref="RaftNode.Advance"/>
    /// — so a crash before the write finishes cannot lose an entry the leader counted.
    /// </summary>
    public bool MaySendBeforePersist { get; init; }
}
