using Trireme.Store.Core.Codec;
using Trireme.Store.Core.Mvcc;
using Trireme.Store.Core.Watch;

namespace Trireme.Store.Core;

/// <summary>
/// The replicated store's state machine: etcd's applier over mvcc, lessor, alarms and quota, plus the
/// watch hub. Every member applies the same committed entries in the same order through
/// <see cref="Apply(long, ReadOnlySpan{byte}, long)"/> and ends in the same state (equal
/// <see cref="HashKv"/> and equal snapshot bytes). Reads (<see cref="Range"/>, <see cref="HashKv"/>,
/// lease queries) do not change replicated state.
///
/// Ownership and ordering: single-threaded. The host calls Apply in log order from one thread and
/// serializes reads, watch calls and lease clock calls with it (same thread or one lock). Time enters
/// only as ticks (<c>nowTicks</c>), used solely by the leader's lease clock, never by replicated state.
/// </summary>
public sealed partial class StoreStateMachine
{
    /// <summary>Accounted bytes per lease (etcd's quota leaseOverhead).</summary>
    public const int LeaseOverheadBytes = 64;

    /// <summary>Accounted cost of one put for the quota pre-check (etcd's kvOverhead).</summary>
    public const int PutOverheadBytes = 256;

    private readonly MvccStore _mvcc = new();
    private readonly SortedSet<AlarmMember> _alarms = new(Comparer<AlarmMember>.Create(
        (a, b) => a.MemberId != b.MemberId ? a.MemberId.CompareTo(b.MemberId) : a.Alarm.CompareTo(b.Alarm)));

    public StoreStateMachine(StoreOptions? options = null)
    {
        Options = options ?? new StoreOptions();
        if (Options.TicksPerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "TicksPerSecond must be positive");
        }

        Leases = new KeyLeases(Options.MinLeaseTtlSeconds, Options.TicksPerSecond);
        Watches = new WatchHub(_mvcc, Options);
    }

    public StoreOptions Options { get; }

    /// <summary>The lease table: queries, and the leader's clock (Promote/Demote/Renew/Expired/Checkpoints).</summary>
    public KeyLeases Leases { get; }

    /// <summary>Member-local watchers.</summary>
    public WatchHub Watches { get; }

    /// <summary>Index of the last log entry applied (etcd's consistent index). Entries at or below it are skipped.</summary>
    public long AppliedIndex { get; private set; }

    public long CurrentRevision => _mvcc.CurrentRevision;

    /// <summary>Revision of the last compaction; -1 before the first, as etcd.</summary>
    public long CompactRevision => _mvcc.CompactRevision;

    /// <summary>Keys with history (live or deleted-but-uncompacted).</summary>
    public int KeyIndexCount => _mvcc.KeyCount;

    /// <summary>The quota's view of the backend size: see docs/store.md, "Quota".</summary>
    public long AccountedBytes => _mvcc.AccountedBytes + (long)Leases.Count * LeaseOverheadBytes;

    public IReadOnlyList<AlarmMember> Alarms => [.. _alarms];

    /// <summary>Applies one committed log entry holding a <see cref="CommandCodec"/>-encoded command.</summary>
    public ApplyResult Apply(long index, ReadOnlySpan<byte> command, long nowTicks) =>
        Apply(index, command, ReadOnlyMemory<byte>.Empty, nowTicks);

    /// <summary>As <see cref="Apply(long, ReadOnlySpan{byte}, long)"/>, for a command whose bytes never
    /// change (a Raft log entry): a plain put's stored value is then a slice of them, not a copy
    /// (<see cref="CommandCodec.Decode(ReadOnlyMemory{byte})"/>).</summary>
    public ApplyResult Apply(long index, ReadOnlyMemory<byte> command, long nowTicks) =>
        Apply(index, command.Span, command, nowTicks);

    private ApplyResult Apply(long index, ReadOnlySpan<byte> command, ReadOnlyMemory<byte> shared, long nowTicks)
    {
        if (index <= AppliedIndex)
        {
            return new ApplyResult(index, null, null, skipped: true);
        }

        StoreCommand decoded;
        try
        {
            decoded = shared.IsEmpty ? CommandCodec.Decode(command) : CommandCodec.Decode(shared);
        }
        catch (StoreDecodeException)
        {
            // Every member decodes the same bytes the same way, so refusing it keeps them identical.
            AppliedIndex = index;
            return new ApplyResult(index, null, StoreError.BadCommand, skipped: false);
        }

        return Apply(index, decoded, nowTicks);
    }

    /// <summary>Applies an already decoded command (tests, and hosts that keep the object beside the bytes).</summary>
    public ApplyResult Apply(long index, StoreCommand command, long nowTicks)
    {
        if (index <= AppliedIndex)
        {
            return new ApplyResult(index, null, null, skipped: true);
        }

        AppliedIndex = index;
        (StoreResponse? response, StoreError? error) = Execute(index, command, nowTicks);
        if (response is not null)
        {
            response.Revision = response.Revision == 0 ? _mvcc.CurrentRevision : response.Revision;
        }

        return new ApplyResult(index, response, error, skipped: false);
    }

    /// <summary>
    /// Records a log entry that carries no store command (empty entry after an election, configuration
    /// change) so the applied index still tracks the log.
    /// </summary>
    public void MarkApplied(long index)
    {
        if (index > AppliedIndex)
        {
            AppliedIndex = index;
        }
    }

    /// <summary>
    /// A read outside the log: serializable, or linearizable once the host has confirmed via ReadIndex
    /// that this member has applied up to the leader's commit index.
    /// </summary>
    public (RangeResponse? Response, StoreError? Error) Range(RangeRequest request)
    {
        if (HasAlarm(AlarmType.Corrupt))
        {
            return (null, StoreError.Corrupt);
        }

        return request.Key.Length == 0 ? (null, StoreError.EmptyKey) : ExecuteRange(request);
    }

    /// <summary>etcd's HashKV: CRC-32C over history up to <paramref name="revision"/> (0 = current).</summary>
    public (KvHash Hash, StoreError? Error) HashKv(long revision = 0) => _mvcc.Hash(revision);

    /// <summary>etcd's LeaseTimeToLive; null when the lease does not exist (etcd answers TTL -1).</summary>
    public LeaseTimeToLive? TimeToLive(long leaseId, long nowTicks, bool withKeys)
    {
        KeyLease? lease = Leases.Lookup(leaseId);
        if (lease is null)
        {
            return null;
        }

        IReadOnlyList<byte[]> keys = withKeys ? [.. lease.Keys] : [];
        return new LeaseTimeToLive(lease.Id, Leases.RemainingSeconds(lease, nowTicks), lease.Ttl, keys);
    }

    /// <summary>
    /// The quota pre-check the host should make before proposing (etcd's quotaKVServer): true when the
    /// request can be proposed; false means answer NOSPACE and propose an Alarm ACTIVATE NOSPACE.
    /// </summary>
    public bool QuotaAvailable(StoreRequest request) => !NoSpaceArmed(request) && FitsQuota(Cost(request));

    private (StoreResponse? Response, StoreError? Error) Execute(long index, StoreCommand command, long nowTicks)
    {
        StoreRequest request = command.Request;
        if (RequestValidation.Validate(request, Options.MaxTxnOps) is { } invalid)
        {
            return (null, invalid);
        }

        if (HasAlarm(AlarmType.Corrupt) && request is not AlarmRequest and not LeaseCheckpointRequest)
        {
            return (null, StoreError.Corrupt);
        }

        if (NoSpaceArmed(request))
        {
            return (null, StoreError.NoSpace);
        }

        long cost = Cost(request);
        if (!FitsQuota(cost))
        {
            // etcd raises the alarm through a second log entry; here the size is a deterministic
            // function of replicated state, so every member raises it in this same entry.
            _alarms.Add(new AlarmMember(command.ProposerMemberId, AlarmType.NoSpace));
            return (null, StoreError.NoSpace);
        }

        return request switch
        {
            RangeRequest r => Result(ExecuteRange(r)),
            PutRequest p => Result(ExecutePutAlone(p)),
            DeleteRangeRequest d => Result(ExecuteDeleteAlone(d)),
            TxnRequest t => Result(ExecuteTxn(t)),
            CompactionRequest c => Result(ExecuteCompaction(c)),
            LeaseGrantRequest g => Result(ExecuteLeaseGrant(index, g, nowTicks)),
            LeaseRevokeRequest v => Result(ExecuteLeaseRevoke(v)),
            LeaseCheckpointRequest k => (ExecuteLeaseCheckpoint(k), null),
            AlarmRequest a => (ExecuteAlarm(a), null),
            _ => (null, StoreError.BadCommand),
        };
    }

    private static (StoreResponse? Response, StoreError? Error) Result<T>((T? Response, StoreError? Error) result)
        where T : StoreResponse => (result.Response, result.Error);

    /// <summary>While NOSPACE is armed, writes that add data are refused (etcd's applierV3Capped).</summary>
    private bool NoSpaceArmed(StoreRequest request) =>
        Cost(request) > 0 && HasAlarm(AlarmType.NoSpace);

    /// <summary>Asked on every apply and read: the set is almost always empty, and a LINQ walk over a
    /// SortedSet allocates an enumerator and its stack each time.</summary>
    private bool HasAlarm(AlarmType alarm)
    {
        if (_alarms.Count == 0)
        {
            return false;
        }

        foreach (AlarmMember member in _alarms)
        {
            if (member.Alarm == alarm)
            {
                return true;
            }
        }

        return false;
    }

    private bool FitsQuota(long cost) => cost == 0 || Options.QuotaBytes < 0 || AccountedBytes + cost <= Options.QuotaBytes;

    /// <summary>etcd's quota cost: 256 + key + value per put (the larger txn branch), 64 per lease grant.</summary>
    private static long Cost(StoreRequest request) => request switch
    {
        PutRequest p => PutOverheadBytes + p.Key.Length + p.Value.Length,
        TxnRequest t => Math.Max(t.Success.Sum(Cost), t.Failure.Sum(Cost)),
        LeaseGrantRequest => LeaseOverheadBytes,
        _ => 0,
    };

    private StoreResponse ExecuteAlarm(AlarmRequest request)
    {
        var member = new AlarmMember(request.MemberId, request.Alarm);
        switch (request.Action)
        {
            case AlarmAction.Activate when request.Alarm != AlarmType.None:
                _alarms.Add(member);
                return new AlarmResponse { Alarms = [member] };
            case AlarmAction.Deactivate:
                return new AlarmResponse { Alarms = _alarms.Remove(member) ? [member] : [] };
            default:
                return new AlarmResponse
                {
                    Alarms = request.Alarm == AlarmType.None ? [.. _alarms] : [.. _alarms.Where(a => a.Alarm == request.Alarm)],
                };
        }
    }

    private (CompactionResponse? Response, StoreError? Error) ExecuteCompaction(CompactionRequest request)
    {
        if (_mvcc.CheckCompact(request.Revision) is { } error)
        {
            return (null, error);
        }

        _mvcc.Compact(request.Revision);
        return (new CompactionResponse(), null);
    }
}
