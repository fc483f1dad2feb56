namespace Trireme.Raft.Core;

/// <summary>
/// The node's log, kept in memory from the last snapshot on (there is no storage interface: the host
/// persists what Ready hands it and gives it all back on restart). Tracks four watermarks, always
/// ordered applied &lt;= committed and stable &lt;= last:
/// committed (known replicated on a quorum), applied (handed to the application and advanced),
/// stable (durable on the host: entries past it are in the next Ready) and last.
/// </summary>
internal sealed class RaftLog
{
    private readonly List<Entry> _entries = [];
    private ulong _snapshotIndex;
    private ulong _snapshotTerm;

    /// <summary>Lowest index truncated since the last TakeReady, so Advance does not mark as durable an
    /// entry that was replaced after its Ready was taken.</summary>
    private ulong _truncatedSinceReady = ulong.MaxValue;

    public ulong Committed { get; private set; }
    public ulong Applied { get; private set; }
    public ulong Stable { get; private set; }

    /// <summary>The latest snapshot the log starts after: sent to followers behind FirstIndex.</summary>
    public Snapshot? Snapshot { get; private set; }

    /// <summary>A snapshot received from the leader and not yet handed to the host in a Ready.</summary>
    public Snapshot? UnstableSnapshot { get; private set; }

    public ulong FirstIndex => _snapshotIndex + 1;
    public ulong LastIndex => _snapshotIndex + (ulong)_entries.Count;
    public ulong SnapshotIndex => _snapshotIndex;
    public ulong LastTerm => Term(LastIndex);

    /// <summary>Rebuilds the log from what the host persisted. Everything given back is durable.</summary>
    public void Restore(Snapshot? snapshot, IReadOnlyList<Entry> entries, ulong committed)
    {
        if (snapshot is not null)
        {
            Snapshot = snapshot;
            _snapshotIndex = snapshot.Metadata.Index;
            _snapshotTerm = snapshot.Metadata.Term;
        }

        foreach (var entry in entries)
        {
            if (entry.Index <= _snapshotIndex)
            {
                continue;
            }

            Invariants.Check(entry.Index == LastIndex + 1, "persisted entries are not contiguous after the snapshot");
            _entries.Add(entry);
        }

        Invariants.Check(committed <= LastIndex, "persisted commit index is beyond the persisted log");
        Committed = Math.Max(committed, _snapshotIndex);
        Applied = _snapshotIndex;
        Stable = LastIndex;
    }

    public bool TryTerm(ulong index, out ulong term)
    {
        if (index == _snapshotIndex)
        {
            term = _snapshotTerm;
            return true;
        }

        if (index < _snapshotIndex || index > LastIndex)
        {
            term = 0;
            return false;
        }

        term = _entries[(int)(index - _snapshotIndex - 1)].Term;
        return true;
    }

    /// <summary>The term at index, or 0 when the index is compacted away or not yet written.</summary>
    public ulong Term(ulong index) => TryTerm(index, out var term) ? term : 0;

    public bool MatchTerm(ulong index, ulong term) => TryTerm(index, out var t) && t == term;

    public Entry At(ulong index) => _entries[(int)(index - _snapshotIndex - 1)];

    /// <summary>Raft §5.4.1: a candidate's log is at least as up to date as ours.</summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>Leader-side append of fresh entries at the end of the log.</summary>
    public void Append(Entry entry)
    {
        Invariants.Check(entry.Index == LastIndex + 1, "appended entry does not extend the log");
        _entries.Add(entry);
    }

    /// <summary>
    /// Follower-side append (Raft §5.3): entries follow prevIndex, which the caller has matched. Entries
    /// already present with the same term are skipped; the first conflicting one truncates our suffix.
    /// Returns the index of the last new entry.
    /// </summary>
    public ulong AppendAfter(ulong prevIndex, IReadOnlyList<Entry> entries)
    {
        var count = entries.Count;
        for (var i = 0; i < count; i++)
        {
            var entry = entries[i];
            Invariants.Check(entry.Index == prevIndex + 1 + (ulong)i, "append entries are not contiguous");
            if (entry.Index <= _snapshotIndex || MatchTerm(entry.Index, entry.Term))
            {
                continue;
            }

            if (entry.Index <= LastIndex)
            {
                TruncateFrom(entry.Index);
            }

            _entries.Add(entry);
        }

        return prevIndex + (ulong)count;
    }

    private void TruncateFrom(ulong index)
    {
        if (!(index > Committed))
        {
            throw Invariants.Violation($"truncating committed entry {index} (commit {Committed})");
        }

        _entries.RemoveRange((int)(index - _snapshotIndex - 1), (int)(LastIndex - index + 1));
        Stable = Math.Min(Stable, index - 1);
        _truncatedSinceReady = Math.Min(_truncatedSinceReady, index - 1);
    }

    /// <summary>
    /// The fast-backtracking probe (etcd-io/raft findConflictByTerm): the largest index &lt;= index whose
    /// term is &lt;= term. Every entry above it cannot match a log whose entry at index has that term.
    /// </summary>
    public ulong FindConflictByTerm(ulong index, ulong term)
    {
        if (index > LastIndex)
        {
            return index;
        }

        while (index > _snapshotIndex)
        {
            if (Term(index) <= term)
            {
                return index;
            }

            index--;
        }

        return index;
    }

    /// <summary>Entries [from, LastIndex] up to maxBytes (at least one). from must be &gt;= FirstIndex.</summary>
    public Entry[] Slice(ulong from, long maxBytes, int maxCount)
    {
        if (from > LastIndex)
        {
            return [];
        }

        var start = (int)(from - _snapshotIndex - 1);
        var available = Math.Min(_entries.Count - start, maxCount);
        var count = 0;
        long bytes = 0;
        while (count < available)
        {
            bytes += _entries[start + count].SizeBytes;
            if (count > 0 && bytes > maxBytes)
            {
                break;
            }

            count++;
        }

        var result = new Entry[count];
        _entries.CopyTo(start, result, 0, count);
        return result;
    }

    public void CommitTo(ulong index)
    {
        if (!(index >= Committed))
        {
            throw Invariants.Violation($"commit index going backwards ({Committed} -> {index})");
        }

        if (!(index <= LastIndex))
        {
            throw Invariants.Violation($"commit {index} beyond last index {LastIndex}");
        }

        Committed = index;
    }

    /// <summary>Entries not yet handed to the host for persistence.</summary>
    public Entry[] UnstableEntries()
    {
        if (Stable >= LastIndex)
        {
            return [];
        }

        var start = (int)(Stable - _snapshotIndex);
        var result = new Entry[_entries.Count - start];
        _entries.CopyTo(start, result, 0, result.Length);
        _truncatedSinceReady = ulong.MaxValue;
        return result;
    }

    /// <summary>The host made a Ready durable: its entries up to lastIndex (and its snapshot) are stable.</summary>
    public void StableTo(ulong lastIndex)
    {
        var durable = Math.Min(lastIndex, _truncatedSinceReady);
        Stable = Math.Max(Stable, Math.Min(durable, LastIndex));
    }

    public void StableSnapshot() => UnstableSnapshot = null;

    /// <summary>Committed, durable and not yet applied: what the application may apply next.</summary>
    public ulong ApplyLimit => Math.Min(Committed, Stable);

    public bool HasEntriesToApply => Applied < ApplyLimit && Applied >= _snapshotIndex;

    public Entry[] EntriesToApply(long maxBytes) =>
        HasEntriesToApply ? Slice(Applied + 1, maxBytes, (int)Math.Min(ApplyLimit - Applied, int.MaxValue)) : [];

    public void AppliedTo(ulong index)
    {
        if (!(index >= Applied))
        {
            throw Invariants.Violation($"applied index going backwards ({Applied} -> {index})");
        }

        if (!(index <= Committed))
        {
            throw Invariants.Violation($"applied {index} beyond commit {Committed}");
        }

        Applied = index;
    }

    /// <summary>Follower installs a leader's snapshot: the whole log is replaced by it.</summary>
    public void InstallSnapshot(Snapshot snapshot)
    {
        var meta = snapshot.Metadata;
        Invariants.Check(meta.Index > Committed, "installing a snapshot at or below the commit index");
        _entries.Clear();
        _snapshotIndex = meta.Index;
        _snapshotTerm = meta.Term;
        Snapshot = snapshot;
        UnstableSnapshot = snapshot;
        Committed = meta.Index;
        Applied = meta.Index;
        Stable = meta.Index;
        _truncatedSinceReady = ulong.MaxValue;
    }

    /// <summary>The application took a snapshot at index: keep it and drop the entries it covers.</summary>
    public void Compact(Snapshot snapshot)
    {
        var index = snapshot.Metadata.Index;
        if (!(index <= Applied))
        {
            throw Invariants.Violation($"compacting at {index} beyond the applied index {Applied}");
        }

        if (index <= _snapshotIndex)
        {
            return;
        }

        var term = Term(index);
        _entries.RemoveRange(0, (int)(index - _snapshotIndex));
        _snapshotIndex = index;
        _snapshotTerm = term;
        Snapshot = snapshot;
    }

    /// <summary>Whether an entry of the given type exists in (from, to]. Used for rare checks only.</summary>
    public bool ContainsType(ulong from, ulong to, EntryType type)
    {
        for (var i = Math.Max(from + 1, FirstIndex); i <= Math.Min(to, LastIndex); i++)
        {
            if (At(i).Type == type)
            {
                return true;
            }
        }

        return false;
    }
}
