using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// One copy of what a node's disk holds: hard state, snapshot, and the entries after it, each with its
/// prefix hash. A simulated disk keeps two: what the host has written and what is durable.
/// </summary>
internal sealed class LogView
{
    private readonly List<Entry> _entries = [];
    private readonly List<ulong> _prefix = [];

    public HardState HardState { get; set; }

    public Snapshot? Snapshot { get; private set; }

    public ulong SnapshotIndex { get; private set; }

    public ulong SnapshotTerm { get; private set; }

    /// <summary>Prefix hash at <see cref="SnapshotIndex"/> (0 for an empty log).</summary>
    public ulong BasePrefix { get; private set; }

    public ulong LastIndex => SnapshotIndex + (ulong)_entries.Count;

    public IReadOnlyList<Entry> Entries => _entries;

    public bool TryGetEntry(ulong index, out Entry entry)
    {
        if (index <= SnapshotIndex || index > LastIndex)
        {
            entry = default;
            return false;
        }

        entry = _entries[(int)(index - SnapshotIndex - 1)];
        return true;
    }

    public ulong? TermAt(ulong index)
    {
        if (index == SnapshotIndex)
        {
            return SnapshotTerm;
        }

        return TryGetEntry(index, out var entry) ? entry.Term : null;
    }

    /// <summary>The prefix hash at <paramref name="index"/>, or null when this log does not hold it.</summary>
    public ulong? PrefixAt(ulong index)
    {
        if (index == SnapshotIndex)
        {
            return BasePrefix;
        }

        if (index < SnapshotIndex || index > LastIndex)
        {
            return null;
        }

        return _prefix[(int)(index - SnapshotIndex - 1)];
    }

    /// <summary>Appends entries, first truncating any suffix from the first entry's index on (a leader
    /// overwriting a conflicting tail). Calls <paramref name="onAppended"/> per entry kept.</summary>
    public void Append(IReadOnlyList<Entry> entries, Action<Entry, ulong>? onAppended = null)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var first = entries[0].Index;
        if (first > LastIndex + 1)
        {
            throw new SimulationInvariantException(
                $"core asked to persist entries from {first} but the log ends at {LastIndex}: a gap");
        }

        var start = 0;
        if (first <= SnapshotIndex)
        {
            // Entries the snapshot already covers: keep the snapshot, drop them.
            start = (int)(SnapshotIndex + 1 - first);
            if (start >= entries.Count)
            {
                return;
            }
        }

        var truncateFrom = (int)(entries[start].Index - SnapshotIndex - 1);
        if (truncateFrom < _entries.Count)
        {
            _entries.RemoveRange(truncateFrom, _entries.Count - truncateFrom);
            _prefix.RemoveRange(truncateFrom, _prefix.Count - truncateFrom);
        }

        var previous = _prefix.Count == 0 ? BasePrefix : _prefix[^1];
        for (var i = start; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry.Index != LastIndex + 1)
            {
                throw new SimulationInvariantException($"core handed non-contiguous entries: {entry.Index} after {LastIndex}");
            }

            previous = Hashing.Prefix(previous, entry);
            _entries.Add(entry);
            _prefix.Add(previous);
            onAppended?.Invoke(entry, previous);
        }
    }

    /// <summary>Replaces everything up to the snapshot. A snapshot received from a leader discards the
    /// whole log (as etcd's storage does); a local compaction keeps the entries after it.</summary>
    public void SetSnapshot(Snapshot snapshot, ulong basePrefix, bool keepSuffix)
    {
        var index = snapshot.Metadata.Index;
        if (keepSuffix && index >= SnapshotIndex && index <= LastIndex)
        {
            var drop = (int)(index - SnapshotIndex);
            _entries.RemoveRange(0, drop);
            _prefix.RemoveRange(0, drop);
        }
        else
        {
            _entries.Clear();
            _prefix.Clear();
        }

        Snapshot = snapshot;
        SnapshotIndex = index;
        SnapshotTerm = snapshot.Metadata.Term;
        BasePrefix = basePrefix;
    }

    public LogView Clone()
    {
        var copy = new LogView { HardState = HardState, Snapshot = Snapshot, SnapshotIndex = SnapshotIndex, SnapshotTerm = SnapshotTerm, BasePrefix = BasePrefix };
        copy._entries.AddRange(_entries);
        copy._prefix.AddRange(_prefix);
        return copy;
    }

    public RaftPersistedState ToPersistedState() => new(HardState, Snapshot, _entries.ToArray());
}
