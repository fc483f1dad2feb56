namespace Trireme.Store.Host;

/// <summary>
/// When a member takes its next snapshot. etcd's rule is SnapshotCount entries applied since the last
/// one. A snapshot here is the whole state (history included, until compaction), so under a steady
/// stream of writes to a large state that rule alone makes snapshot files most of the disk's traffic —
/// at 256 clients without compaction, a 100+ MB file every few seconds on every member. So once the last
/// snapshot was at least <see cref="AmortizeFromBytes"/>, the next also waits until the entries applied
/// since add up to half its size (snapshot writes then stay within about twice the WAL's), but never past
/// <see cref="MaxCountFactor"/> × SnapshotCount entries, which bounds the log kept in memory and replayed
/// on restart. Smaller states keep etcd's exact rule.
/// </summary>
public static class SnapshotPolicy
{
    /// <summary>From this snapshot size on, the next snapshot waits for half of it in new entries too.</summary>
    public const ulong AmortizeFromBytes = 64UL * 1024 * 1024;

    /// <summary>However large the state, a snapshot is due after this many times SnapshotCount entries.</summary>
    public const ulong MaxCountFactor = 10;

    public static bool Due(ulong entriesSince, ulong snapshotCount, ulong entryBytesSince, ulong lastSnapshotBytes)
    {
        if (entriesSince < snapshotCount)
        {
            return false;
        }

        return lastSnapshotBytes < AmortizeFromBytes
            || entryBytesSince >= lastSnapshotBytes / 2
            || entriesSince / MaxCountFactor >= snapshotCount;
    }
}
