namespace Trireme.Store.Core;

// The store's own request types, shaped after etcdserverpb so the host maps protobuf messages
// field by field (names and enum numbers match). Byte arrays are owned by the request once built.

/// <summary>A request the state machine applies (or, for <see cref="RangeRequest"/>, may serve directly).</summary>
public abstract class StoreRequest
{
    private protected StoreRequest()
    {
    }
}

public enum SortOrder
{
    None = 0,
    Ascend = 1,
    Descend = 2,
}

public enum SortTarget
{
    Key = 0,
    Version = 1,
    Create = 2,
    Mod = 3,
    Value = 4,
}

public sealed class RangeRequest : StoreRequest
{
    public byte[] Key { get; init; } = [];

    /// <summary>Empty: just <see cref="Key"/>; a single 0 byte: every key ≥ Key; else [Key, RangeEnd).</summary>
    public byte[] RangeEnd { get; init; } = [];

    /// <summary>0 = no limit. With a limit, More tells whether keys were left out.</summary>
    public long Limit { get; init; }

    /// <summary>≤ 0 = the current revision; otherwise a historical read at that revision.</summary>
    public long Revision { get; init; }

    public SortOrder SortOrder { get; init; }
    public SortTarget SortTarget { get; init; }

    /// <summary>Carried for the host (it decides ReadIndex vs local read); the store ignores it.</summary>
    public bool Serializable { get; init; }

    public bool KeysOnly { get; init; }
    public bool CountOnly { get; init; }
    public long MinModRevision { get; init; }
    public long MaxModRevision { get; init; }
    public long MinCreateRevision { get; init; }
    public long MaxCreateRevision { get; init; }
}

public sealed class PutRequest : StoreRequest
{
    public byte[] Key { get; init; } = [];
    public ReadOnlyMemory<byte> Value { get; init; }
    public long Lease { get; init; }
    public bool PrevKv { get; init; }
    public bool IgnoreValue { get; init; }
    public bool IgnoreLease { get; init; }
}

public sealed class DeleteRangeRequest : StoreRequest
{
    public byte[] Key { get; init; } = [];
    public byte[] RangeEnd { get; init; } = [];
    public bool PrevKv { get; init; }
}

public enum CompareResult
{
    Equal = 0,
    Greater = 1,
    Less = 2,
    NotEqual = 3,
}

public enum CompareTarget
{
    Version = 0,
    Create = 1,
    Mod = 2,
    Value = 3,
    Lease = 4,
}

/// <summary>
/// One txn guard. <see cref="Number"/> holds the version/create/mod/lease operand and
/// <see cref="Value"/> the value operand, whichever <see cref="Target"/> selects.
/// </summary>
public sealed class Compare
{
    public CompareResult Result { get; init; }
    public CompareTarget Target { get; init; }
    public byte[] Key { get; init; } = [];
    public byte[] RangeEnd { get; init; } = [];
    public long Number { get; init; }
    public byte[] Value { get; init; } = [];
}

/// <summary>Ops are <see cref="RangeRequest"/>, <see cref="PutRequest"/>, <see cref="DeleteRangeRequest"/> or a nested <see cref="TxnRequest"/>.</summary>
public sealed class TxnRequest : StoreRequest
{
    public IReadOnlyList<Compare> Compare { get; init; } = [];
    public IReadOnlyList<StoreRequest> Success { get; init; } = [];
    public IReadOnlyList<StoreRequest> Failure { get; init; } = [];
}

public sealed class CompactionRequest : StoreRequest
{
    public long Revision { get; init; }

    /// <summary>Carried for the host (etcd waits for the backend to finish); compaction here is synchronous.</summary>
    public bool Physical { get; init; }
}

public sealed class LeaseGrantRequest : StoreRequest
{
    /// <summary>Requested TTL in seconds; raised to the minimum TTL when smaller.</summary>
    public long Ttl { get; init; }

    /// <summary>0 = let the store pick one deterministically from the log index.</summary>
    public long Id { get; init; }
}

public sealed class LeaseRevokeRequest : StoreRequest
{
    public long Id { get; init; }
}

/// <summary>etcd's LeaseCheckpointRequest: the leader persists remaining TTLs through the log.</summary>
public sealed class LeaseCheckpointRequest : StoreRequest
{
    public IReadOnlyList<LeaseCheckpoint> Checkpoints { get; init; } = [];
}

public readonly record struct LeaseCheckpoint(long Id, long RemainingTtl);

public enum AlarmAction
{
    Get = 0,
    Activate = 1,
    Deactivate = 2,
}

public enum AlarmType
{
    None = 0,
    NoSpace = 1,
    Corrupt = 2,
}

public sealed class AlarmRequest : StoreRequest
{
    public AlarmAction Action { get; init; }
    public ulong MemberId { get; init; }
    public AlarmType Alarm { get; init; }
}

public readonly record struct AlarmMember(ulong MemberId, AlarmType Alarm);

/// <summary>
/// What goes into a log entry: the request plus who proposed it. The proposer's member ID is what a
/// NOSPACE alarm raised by this entry is filed under (etcd files alarms per member).
/// </summary>
public sealed record StoreCommand(StoreRequest Request, ulong ProposerMemberId = 0);
