namespace Trireme.Store.Core;

/// <summary>A response; <see cref="Revision"/> is the header revision etcd reports with it.</summary>
public abstract class StoreResponse
{
    private protected StoreResponse()
    {
    }

    public long Revision { get; internal set; }
}

public sealed class RangeResponse : StoreResponse
{
    public IReadOnlyList<KeyValue> Kvs { get; init; } = [];

    /// <summary>More keys matched than <see cref="RangeRequest.Limit"/> let through.</summary>
    public bool More { get; init; }

    /// <summary>Keys in the range at the read revision, before limit and revision filters (as etcd).</summary>
    public long Count { get; init; }
}

public sealed class PutResponse : StoreResponse
{
    public KeyValue? PrevKv { get; init; }
}

public sealed class DeleteRangeResponse : StoreResponse
{
    public long Deleted { get; init; }
    public IReadOnlyList<KeyValue> PrevKvs { get; init; } = [];
}

public sealed class TxnResponse : StoreResponse
{
    public bool Succeeded { get; init; }
    public IReadOnlyList<StoreResponse> Responses { get; init; } = [];
}

public sealed class CompactionResponse : StoreResponse
{
}

public sealed class LeaseGrantResponse : StoreResponse
{
    public long Id { get; init; }
    public long Ttl { get; init; }
}

public sealed class LeaseRevokeResponse : StoreResponse
{
}

public sealed class LeaseCheckpointResponse : StoreResponse
{
}

public sealed class AlarmResponse : StoreResponse
{
    public IReadOnlyList<AlarmMember> Alarms { get; init; } = [];
}

/// <summary>etcd's LeaseTimeToLiveResponse: TTL is the remaining seconds, -1 when the lease is gone.</summary>
public sealed record LeaseTimeToLive(long Id, long Ttl, long GrantedTtl, IReadOnlyList<byte[]> Keys);

/// <summary>etcd's HashKVResponse payload.</summary>
public readonly record struct KvHash(uint Hash, long CompactRevision, long Revision);

/// <summary>
/// The outcome of applying one log entry. Exactly one of <see cref="Response"/> or <see cref="Error"/>
/// is set unless <see cref="Skipped"/> (the entry was at or below the applied index and did nothing).
/// </summary>
public sealed class ApplyResult
{
    internal ApplyResult(long index, StoreResponse? response, StoreError? error, bool skipped)
    {
        Index = index;
        Response = response;
        Error = error;
        Skipped = skipped;
    }

    public long Index { get; }
    public StoreResponse? Response { get; }
    public StoreError? Error { get; }
    public bool Skipped { get; }

    public override string ToString() =>
        Skipped ? $"#{Index} skipped" : Error is not null ? $"#{Index} {Error.Message}" : $"#{Index} {Response?.GetType().Name}";
}
