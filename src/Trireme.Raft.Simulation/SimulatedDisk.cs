using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// A node's disk. Writes land in <see cref="Written"/> at once (what a read would return) and in a
/// journal; <see cref="Sync"/> (fsync) makes them durable. A crash keeps the durable state plus a
/// random prefix of the unsynced journal — an OS may have flushed some of it, in order — and loses the
/// rest. The safety checkers watch entries as they become durable.
/// </summary>
internal sealed class SimulatedDisk
{
    private readonly List<Write> _journal = [];
    private readonly Action<Entry, ulong> _onDurableEntry;

    public SimulatedDisk(Action<Entry, ulong> onDurableEntry) => _onDurableEntry = onDurableEntry;

    public LogView Written { get; private set; } = new();

    public LogView Durable { get; } = new();

    public bool HasUnsynced => _journal.Count > 0;

    public void WriteHardState(HardState state)
    {
        Written.HardState = state;
        _journal.Add(new Write(state, null, null, 0, false));
    }

    public void WriteEntries(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        Written.Append(entries);
        _journal.Add(new Write(null, entries, null, 0, false));
    }

    public void WriteSnapshot(Snapshot snapshot, ulong basePrefix, bool keepSuffix)
    {
        Written.SetSnapshot(snapshot, basePrefix, keepSuffix);
        _journal.Add(new Write(null, null, snapshot, basePrefix, keepSuffix));
    }

    public void Sync()
    {
        foreach (var write in _journal)
        {
            Apply(Durable, write);
        }

        _journal.Clear();
    }

    /// <summary>Power loss: a random prefix of the unsynced writes survives.</summary>
    public void Crash(Random random)
    {
        var survive = _journal.Count == 0 ? 0 : random.Next(_journal.Count + 1);
        for (var i = 0; i < survive; i++)
        {
            Apply(Durable, _journal[i]);
        }

        _journal.Clear();
        Written = Durable.Clone();
    }

    private void Apply(LogView view, Write write)
    {
        if (write.HardState is { } hardState)
        {
            view.HardState = hardState;
        }

        if (write.Entries is { } entries)
        {
            view.Append(entries, _onDurableEntry);
        }

        if (write.Snapshot is { } snapshot)
        {
            view.SetSnapshot(snapshot, write.BasePrefix, write.KeepSuffix);
        }
    }

    private readonly record struct Write(
        HardState? HardState, IReadOnlyList<Entry>? Entries, Snapshot? Snapshot, ulong BasePrefix, bool KeepSuffix);
}
