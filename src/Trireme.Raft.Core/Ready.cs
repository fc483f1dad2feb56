namespace Trireme.Raft.Core;

/// <summary>
/// Work the host must do for the core, handed out by <see cref="RaftNode.TakeReady"/>. Ordering is the
/// whole contract:
/// 1. persist HardState, Snapshot and Entries durably (fsync when MustSync) — Entries may start below
///    the host's last index, in which case they overwrite the conflicting suffix;
/// 2. only then send Messages (a vote or an acknowledgement must never outrun the disk);
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
}
