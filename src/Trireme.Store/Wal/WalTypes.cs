namespace Trireme.Store.Wal;

/// <summary>Kinds of WAL record. Persisted values: frozen by a test, never renumber.</summary>
public enum WalRecordType : byte
{
    /// <summary>Raft HardState: term, vote, commit (24 bytes).</summary>
    HardState = 1,

    /// <summary>A batch of Raft log entries, in index order; a lower index than the log's end truncates.</summary>
    Entries = 2,

    /// <summary>A snapshot file at (index, term) is durable: entries up to index may be released.</summary>
    SnapshotMarker = 3,
}

/// <summary>The WAL's own copy of Raft's HardState, so the file format does not move with the core's types.</summary>
public readonly record struct WalHardState(ulong Term, ulong Vote, ulong Commit)
{
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}

/// <summary>One Raft log entry as the WAL stores it. <see cref="Type"/> is Raft's EntryType byte.</summary>
public readonly record struct WalEntry(ulong Term, ulong Index, byte Type, ReadOnlyMemory<byte> Data);

/// <summary>Which snapshot the log was compacted behind.</summary>
public readonly record struct WalSnapshotMarker(ulong Index, ulong Term);

/// <summary>What recovery found: the newest HardState, the newest marker and the live log suffix.</summary>
public sealed record WalRecoveredState(
    WalHardState HardState,
    WalSnapshotMarker Marker,
    IReadOnlyList<WalEntry> Entries,
    IReadOnlyList<string> Notes);

/// <summary>
/// The WAL is damaged somewhere other than a torn tail: starting would risk serving a log that lost
/// acknowledged entries, so the member refuses to start. The message names the file and byte offset.
/// </summary>
public sealed class WalCorruptException(string path, long offset, string reason)
    : Exception($"WAL corrupted: {path} at byte offset {offset}: {reason}. Refusing to start; " +
        "replace this member (member remove, wipe its data dir, member add --learner, promote).")
{
    public string FilePath { get; } = path;

    public long Offset { get; } = offset;
}
