namespace Trireme.Store.Core;

// Lease commands applied from the log (etcd's applier LeaseGrant/LeaseRevoke/LeaseCheckpoint).
public sealed partial class StoreStateMachine
{
    // The leader's lease clock, surfaced here so the host has one object to drive. None of these
    // change replicated state; what they decide reaches the other members only as log entries.

    /// <summary>This member became leader: start counting lease time, extended by <paramref name="extendTicks"/> (an election timeout).</summary>
    public void Promote(long nowTicks, long extendTicks) => Leases.Promote(nowTicks, extendTicks);

    /// <summary>This member stopped being leader: stop counting lease time.</summary>
    public void Demote() => Leases.Demote();

    /// <summary>LeaseKeepAlive on the leader; see <see cref="KeyLeases.Renew"/>.</summary>
    public (long Ttl, StoreError? Error) RenewLease(long leaseId, long nowTicks) => Leases.Renew(leaseId, nowTicks);

    /// <summary>Leases the leader should revoke now, each as a LeaseRevoke entry through the log.</summary>
    public IReadOnlyList<long> ExpiredLeases(long nowTicks, int max = 1000) => Leases.Expired(nowTicks, max);

    /// <summary>Remaining TTLs the leader should persist as one LeaseCheckpoint entry (etcd: every 5 min).</summary>
    public IReadOnlyList<LeaseCheckpoint> LeaseCheckpoints(long nowTicks, int max = 1000) => Leases.Checkpoints(nowTicks, max);

    private (LeaseGrantResponse? Response, StoreError? Error) ExecuteLeaseGrant(long index, LeaseGrantRequest request, long nowTicks)
    {
        if (request.Ttl > KeyLeases.MaxTtlSeconds)
        {
            return (null, StoreError.LeaseTtlTooLarge);
        }

        long id = request.Id;
        if (id == 0)
        {
            id = DeriveLeaseId(index);
        }
        else if (Leases.Lookup(id) is not null)
        {
            return (null, StoreError.LeaseExists);
        }

        KeyLease lease = Leases.Grant(id, request.Ttl, nowTicks);
        return (new LeaseGrantResponse { Id = lease.Id, Ttl = lease.Ttl }, null);
    }

    /// <summary>
    /// etcd's server picks a random ID before proposing; here the ID must be the same on every member,
    /// so it comes from the entry's log index (mixed so IDs do not look sequential), positive, and
    /// moved past any ID already in use.
    /// </summary>
    private long DeriveLeaseId(long index)
    {
        ulong mixed = (ulong)index + 0x9E3779B97F4A7C15UL;
        mixed = (mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9UL;
        mixed = (mixed ^ (mixed >> 27)) * 0x94D049BB133111EBUL;
        mixed ^= mixed >> 31;
        long id = (long)(mixed & long.MaxValue);
        while (id == 0 || Leases.Lookup(id) is not null)
        {
            id = (id + 1) & long.MaxValue;
        }

        return id;
    }

    /// <summary>Deletes every key attached to the lease in one revision (sorted, as etcd), then the lease.</summary>
    private (LeaseRevokeResponse? Response, StoreError? Error) ExecuteLeaseRevoke(LeaseRevokeRequest request)
    {
        KeyLease? lease = Leases.Lookup(request.Id);
        if (lease is null)
        {
            return (null, StoreError.LeaseNotFound);
        }

        byte[][] keys = [.. lease.Keys];
        _mvcc.BeginWrite();
        foreach (byte[] key in keys)
        {
            ExecuteDelete(new DeleteRangeRequest { Key = key });
        }

        Leases.Remove(request.Id);
        EndWrite();
        return (new LeaseRevokeResponse(), null);
    }

    private LeaseCheckpointResponse ExecuteLeaseCheckpoint(LeaseCheckpointRequest request)
    {
        foreach (LeaseCheckpoint checkpoint in request.Checkpoints)
        {
            if (Leases.Lookup(checkpoint.Id) is { } lease)
            {
                lease.RemainingTtl = Math.Max(0, checkpoint.RemainingTtl);
            }
        }

        return new LeaseCheckpointResponse();
    }
}
