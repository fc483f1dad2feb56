namespace Trireme.Store.Core;

/// <summary>
/// One key lease (etcd TTL lease). <see cref="Ttl"/> and <see cref="RemainingTtl"/> are replicated
/// state; <see cref="ExpiryTick"/> is leader-local (only the primary lessor counts time).
/// </summary>
public sealed class KeyLease
{
    internal KeyLease(long id, long ttl)
    {
        Id = id;
        Ttl = ttl;
    }

    public long Id { get; }

    /// <summary>Granted TTL in seconds (after the minimum-TTL rule).</summary>
    public long Ttl { get; }

    /// <summary>Last checkpointed remaining TTL in seconds; 0 = none, use <see cref="Ttl"/>.</summary>
    public long RemainingTtl { get; internal set; }

    internal SortedSet<byte[]> Keys { get; } = new(ByteKeys.Instance);

    /// <summary>Tick at which the lease expires on the primary; <see cref="long.MaxValue"/> elsewhere.</summary>
    internal long ExpiryTick { get; set; } = long.MaxValue;

    /// <summary>Earliest tick at which an already-reported expired lease is reported again.</summary>
    internal long RetryTick { get; set; }

    internal long TtlForRefresh => RemainingTtl > 0 ? RemainingTtl : Ttl;
}

/// <summary>
/// The lease table (etcd's lessor). Grants, revokes and checkpoints arrive through the log and are
/// identical on every member. Expiry is decided by the leader only: after <see cref="Promote"/>, the
/// primary counts ticks handed in by its host, <see cref="Expired"/> lists leases past their expiry,
/// and the host proposes a revoke for each so all members delete the keys at the same log index.
/// </summary>
public sealed class KeyLeases
{
    /// <summary>etcd's MaxLeaseTTL (9,000,000,000 s): larger grants are refused.</summary>
    public const long MaxTtlSeconds = 9_000_000_000;

    /// <summary>etcd waits this long before reporting an expired lease again (expiredLeaseRetryInterval).</summary>
    public const long ExpiredRetrySeconds = 3;

    private readonly Dictionary<long, KeyLease> _leases = [];
    private readonly long _ticksPerSecond;

    internal KeyLeases(long minTtlSeconds, long ticksPerSecond)
    {
        MinTtlSeconds = minTtlSeconds;
        _ticksPerSecond = ticksPerSecond;
    }

    public long MinTtlSeconds { get; }

    /// <summary>True on the leader between <see cref="Promote"/> and <see cref="Demote"/>.</summary>
    public bool IsPrimary { get; private set; }

    public int Count => _leases.Count;

    public KeyLease? Lookup(long id) => _leases.GetValueOrDefault(id);

    /// <summary>All leases ordered by ID.</summary>
    public IReadOnlyList<KeyLease> All() => [.. _leases.Values.OrderBy(l => l.Id)];

    internal KeyLease Grant(long id, long ttl, long nowTicks)
    {
        var lease = new KeyLease(id, Math.Max(ttl, MinTtlSeconds));
        if (IsPrimary)
        {
            lease.ExpiryTick = nowTicks + SecondsToTicks(lease.Ttl);
        }

        _leases.Add(id, lease);
        return lease;
    }

    internal bool Remove(long id) => _leases.Remove(id);

    internal void Attach(long id, byte[] key)
    {
        if (id != 0 && _leases.TryGetValue(id, out KeyLease? lease))
        {
            lease.Keys.Add(key);
        }
    }

    internal void Detach(long id, byte[] key)
    {
        if (id != 0 && _leases.TryGetValue(id, out KeyLease? lease))
        {
            lease.Keys.Remove(key);
        }
    }

    internal void Clear() => _leases.Clear();

    internal void Restore(KeyLease lease) => _leases.Add(lease.Id, lease);

    /// <summary>
    /// The host's leader became leader (etcd lessor.Promote): every lease restarts its clock from its
    /// remaining TTL plus <paramref name="extendTicks"/> (an election timeout), so leases do not all
    /// expire at once because time passed while nobody was counting.
    /// </summary>
    public void Promote(long nowTicks, long extendTicks)
    {
        IsPrimary = true;
        foreach (KeyLease lease in _leases.Values)
        {
            lease.ExpiryTick = nowTicks + extendTicks + SecondsToTicks(lease.TtlForRefresh);
            lease.RetryTick = 0;
        }
    }

    /// <summary>Leadership lost: stop counting (etcd lessor.Demote sets expiries to forever).</summary>
    public void Demote()
    {
        IsPrimary = false;
        foreach (KeyLease lease in _leases.Values)
        {
            lease.ExpiryTick = long.MaxValue;
        }
    }

    /// <summary>
    /// KeepAlive on the leader (etcd lessor.Renew; not through the log, as in etcd). Returns the TTL in
    /// seconds, or an error: not primary, or unknown/already expired lease (a revoke is on its way).
    /// </summary>
    public (long Ttl, StoreError? Error) Renew(long id, long nowTicks)
    {
        if (!IsPrimary)
        {
            return (0, StoreError.NotPrimary);
        }

        if (!_leases.TryGetValue(id, out KeyLease? lease) || lease.ExpiryTick <= nowTicks)
        {
            return (0, StoreError.LeaseNotFound);
        }

        // RemainingTtl is replicated state, so it is not touched here: the next Checkpoints() call
        // offers the renewed (full) remaining TTL for the log, as etcd's checkpointer does.
        lease.ExpiryTick = nowTicks + SecondsToTicks(lease.Ttl);
        return (lease.Ttl, null);
    }

    /// <summary>
    /// Expired leases the host should revoke through the log, at most <paramref name="max"/>, oldest
    /// expiry first. A reported lease is not reported again for <see cref="ExpiredRetrySeconds"/> so a
    /// slow commit does not flood the log with duplicate revokes.
    /// </summary>
    public IReadOnlyList<long> Expired(long nowTicks, int max)
    {
        if (!IsPrimary)
        {
            return [];
        }

        var expired = new List<KeyLease>();
        foreach (KeyLease lease in _leases.Values)
        {
            if (lease.ExpiryTick <= nowTicks && lease.RetryTick <= nowTicks)
            {
                expired.Add(lease);
            }
        }

        expired.Sort((a, b) => a.ExpiryTick != b.ExpiryTick ? a.ExpiryTick.CompareTo(b.ExpiryTick) : a.Id.CompareTo(b.Id));
        var result = new List<long>(Math.Min(max, expired.Count));
        foreach (KeyLease lease in expired.Take(max))
        {
            lease.RetryTick = nowTicks + SecondsToTicks(ExpiredRetrySeconds);
            result.Add(lease.Id);
        }

        return result;
    }

    /// <summary>Remaining whole seconds as etcd reports them (truncated); on a non-primary the checkpointed value.</summary>
    public long RemainingSeconds(KeyLease lease, long nowTicks)
    {
        if (!IsPrimary || lease.ExpiryTick == long.MaxValue)
        {
            return lease.TtlForRefresh;
        }

        return Math.Max(0, (lease.ExpiryTick - nowTicks) / _ticksPerSecond);
    }

    /// <summary>
    /// Checkpoints the leader should propose (etcd 3.4 lease checkpointing): each lease's remaining TTL,
    /// so a new leader resumes from it instead of the full TTL. At most <paramref name="max"/>, by ID;
    /// leases whose remaining TTL equals what the log already holds are skipped.
    /// </summary>
    public IReadOnlyList<LeaseCheckpoint> Checkpoints(long nowTicks, int max)
    {
        if (!IsPrimary)
        {
            return [];
        }

        var result = new List<LeaseCheckpoint>();
        foreach (KeyLease lease in _leases.Values.OrderBy(l => l.Id))
        {
            long remaining = Math.Max(1, RemainingSeconds(lease, nowTicks));
            if (remaining != lease.TtlForRefresh && result.Count < max)
            {
                result.Add(new LeaseCheckpoint(lease.Id, remaining));
            }
        }

        return result;
    }

    internal long SecondsToTicks(long seconds) =>
        seconds > long.MaxValue / 4 / _ticksPerSecond ? long.MaxValue / 4 : seconds * _ticksPerSecond;
}
