namespace Trireme.Store.Core;

/// <summary>
/// Settings every member must share: they change what an applied entry does (quota, TTL floor, op
/// limit), so two members with different values would diverge. Watch limits are member-local.
/// </summary>
public sealed class StoreOptions
{
    /// <summary>etcd's DefaultQuotaBytes: 2 GiB.</summary>
    public const long DefaultQuotaBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Accounted-size limit; writes that would pass it raise NOSPACE. Negative = no quota.</summary>
    public long QuotaBytes { get; init; } = DefaultQuotaBytes;

    /// <summary>etcd's --max-txn-ops default: ops per txn branch (and compares).</summary>
    public int MaxTxnOps { get; init; } = 128;

    /// <summary>Lease TTL floor in seconds; see <see cref="MinLeaseTtlSecondsFor"/>. etcd's default setup gives 2.</summary>
    public long MinLeaseTtlSeconds { get; init; } = MinLeaseTtlSecondsFor(electionTicks: 10, heartbeatMilliseconds: 100);

    /// <summary>How many host ticks make one second (lease clocks). 10 = one tick per 100 ms heartbeat.</summary>
    public long TicksPerSecond { get; init; } = 10;

    /// <summary>Member-local bound on registered watchers, so a client cannot exhaust memory with watches.</summary>
    public int MaxWatchers { get; init; } = 100_000;

    /// <summary>Member-local bound on one watcher's undelivered events; beyond it the watcher goes unsynced.</summary>
    public int MaxPendingEventsPerWatcher { get; init; } = 1024;

    /// <summary>
    /// etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds
    /// (ceil(((3 × electionTicks) / 2) × heartbeat)), so a lease cannot expire during a leader change.
    /// </summary>
    public static long MinLeaseTtlSecondsFor(int electionTicks, int heartbeatMilliseconds)
    {
        long milliseconds = (3L * electionTicks / 2) * heartbeatMilliseconds;
        return (milliseconds + 999) / 1000;
    }
}
