namespace Trireme.Raft.Core;

/// <summary>What an entry's Data means to the core. Persisted: values are frozen by a test.</summary>
public enum EntryType : byte
{
    Normal = 0,
    ConfChange = 1,
}

/// <summary>
/// One log entry. A Normal entry with empty Data is the no-op a new leader appends to commit its term;
/// the application ignores it. A ConfChange entry's Data is <see cref="ConfChange.Encode"/>.
/// </summary>
public readonly record struct Entry(ulong Term, ulong Index, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Fixed cost counted per entry besides its data, so that empty entries are not free
    /// against byte budgets (term, index and type as they would be framed).</summary>
    public const int OverheadBytes = 24;

    /// <summary>The size this entry counts for against message, in-flight and uncommitted budgets.</summary>
    public long SizeBytes => OverheadBytes + Data.Length;
}
