namespace Trireme.ApiServer.Storage;

/// <summary>One stored key at one revision (etcd's mvccpb.KeyValue, minus version and lease).</summary>
public sealed record KeyValue(string Key, byte[] Value, long CreateRevision, long ModRevision);

/// <summary>A page of a range read at one store revision; More says keys remain past the last one.</summary>
public sealed record RangeResult(IReadOnlyList<KeyValue> Items, long Revision, bool More);

public enum WriteOutcome
{
    Succeeded,

    /// <summary>Create found the key present (a normal result: 409 AlreadyExists to the client).</summary>
    AlreadyExists,

    /// <summary>Update or delete found no key.</summary>
    NotFound,

    /// <summary>The key's mod revision was not the one expected (409 Conflict to the client).</summary>
    Conflict,
}

/// <summary>
/// The result of a conditional write: on success Revision is the new store revision; otherwise
/// Current carries what the key holds now (null when absent), as kine's txn shapes return it.
/// </summary>
public readonly record struct WriteResult(WriteOutcome Outcome, long Revision, KeyValue? Current);

public enum StoreEventType { Put, Delete }

/// <summary>A change seen by a watch. For Delete, Kv.ModRevision is the revision of the delete.</summary>
public sealed record StoreEvent(StoreEventType Type, KeyValue Kv);

/// <summary>The requested revision has been compacted away: the caller must relist (410 Gone).</summary>
public sealed class StoreCompactedException(long compactRevision)
    : Exception($"required revision has been compacted (compact revision {compactRevision})")
{
    public long CompactRevision { get; } = compactRevision;
}

/// <summary>The store could not be reached or answered with an error (503 to clients).</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// What a consistent read from the watch cache needs to prove the cache current: at the store's
/// current Revision, how many keys the prefix holds, and the mod revision of one key changed after
/// the revision asked about (0 when none was).
/// </summary>
public readonly record struct PrefixChanges(long Revision, long Count, long ChangedModRevision);

/// <summary>Health of one store member, for componentstatuses (etcd-N) and /readyz.</summary>
public sealed record StoreMemberHealth(string Name, bool Healthy, string Error);

/// <summary>
/// The store surface an API server needs — kine's shape: range, create-if-absent, update on
/// mod-revision, delete with an optional precondition, watch from a revision, compact. An existing
/// key or a stale revision is a <see cref="WriteOutcome"/>, never an exception. Implemented over
/// etcd v3 (<c>EtcdKeyValueStore</c>, production) and in memory (<c>MemoryKeyValueStore</c>, tests).
/// </summary>
public interface IKeyValueStore : IAsyncDisposable
{
    ValueTask<KeyValue?> GetAsync(string key, CancellationToken ct);

    /// <summary>
    /// Keys with the prefix, in key order, starting at startKey (inclusive; empty = from the
    /// prefix), at the given revision (0 = latest), at most limit (0 = all).
    /// </summary>
    ValueTask<RangeResult> ListAsync(string prefix, string startKey, long revision, long limit, CancellationToken ct);

    ValueTask<WriteResult> CreateAsync(string key, byte[] value, CancellationToken ct);

    ValueTask<WriteResult> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken ct);

    /// <summary>expectedModRevision 0 deletes whatever is there.</summary>
    ValueTask<WriteResult> DeleteAsync(string key, long expectedModRevision, CancellationToken ct);

    /// <summary>Every change under the prefix with revision &gt;= fromRevision, until ct fires.</summary>
    IAsyncEnumerable<StoreEvent> WatchAsync(string prefix, long fromRevision, CancellationToken ct);

    ValueTask<long> CurrentRevisionAsync(CancellationToken ct);

    /// <summary>
    /// A linearizable check of the prefix against a copy at sinceRevision: the key count and one key
    /// modified after sinceRevision, without values (etcd: a keys-only Range with min_mod_revision and
    /// limit 1, whose count is the prefix's whole count). The copy equals the store's current state
    /// exactly when no key changed and the counts agree: every remaining key is unchanged since the
    /// copy, so a missing one would show as a smaller count.
    /// </summary>
    ValueTask<PrefixChanges> ChangesSinceAsync(string prefix, long sinceRevision, CancellationToken ct);

    ValueTask CompactAsync(long revision, CancellationToken ct);

    ValueTask<IReadOnlyList<StoreMemberHealth>> HealthAsync(CancellationToken ct);
}
