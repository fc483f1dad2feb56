using System.Runtime.CompilerServices;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer.Tests;

/// <summary>
/// A store decorator for the watch-cache tests: it counts the configmap gets, lists and updates that reach
/// the store (the server's own background writes — leases, endpoints — are not the tests'), and can hold
/// every watch event back (<see cref="HoldWatches"/>) so a test can make the API server's cache fall behind
/// the store at a moment it chooses.
/// </summary>
internal sealed class GatedStore(IKeyValueStore inner) : IKeyValueStore
{
    private const string Counted = "/registry/configmaps/";

    private readonly Lock _lock = new();
    private TaskCompletionSource _open = Opened();
    private int _reads;
    private int _lists;
    private int _updates;

    public int Reads => Volatile.Read(ref _reads);

    public int Lists => Volatile.Read(ref _lists);

    public int Updates => Volatile.Read(ref _updates);

    public void HoldWatches()
    {
        lock (_lock)
        {
            _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseWatches()
    {
        lock (_lock)
        {
            _open.TrySetResult();
        }
    }

    public ValueTask<KeyValue?> GetAsync(string key, CancellationToken ct)
    {
        Count(key, ref _reads);
        return inner.GetAsync(key, ct);
    }

    public ValueTask<RangeResult> ListAsync(string prefix, string startKey, long revision, long limit, CancellationToken ct)
    {
        Count(prefix, ref _lists);
        return inner.ListAsync(prefix, startKey, revision, limit, ct);
    }

    public ValueTask<WriteResult> CreateAsync(string key, byte[] value, CancellationToken ct) => inner.CreateAsync(key, value, ct);

    public ValueTask<WriteResult> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken ct)
    {
        Count(key, ref _updates);
        return inner.UpdateAsync(key, value, expectedModRevision, ct);
    }

    public ValueTask<WriteResult> DeleteAsync(string key, long expectedModRevision, CancellationToken ct) =>
        inner.DeleteAsync(key, expectedModRevision, ct);

    public async IAsyncEnumerable<StoreEvent> WatchAsync(string prefix, long fromRevision, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var e in inner.WatchAsync(prefix, fromRevision, ct).ConfigureAwait(false))
        {
            await Gate().WaitAsync(ct).ConfigureAwait(false);
            yield return e;
        }
    }

    public ValueTask<long> CurrentRevisionAsync(CancellationToken ct) => inner.CurrentRevisionAsync(ct);

    public ValueTask<PrefixChanges> ChangesSinceAsync(string prefix, long sinceRevision, CancellationToken ct) =>
        inner.ChangesSinceAsync(prefix, sinceRevision, ct);

    public ValueTask CompactAsync(long revision, CancellationToken ct) => inner.CompactAsync(revision, ct);

    public ValueTask<IReadOnlyList<StoreMemberHealth>> HealthAsync(CancellationToken ct) => inner.HealthAsync(ct);

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private static void Count(string key, ref int counter)
    {
        if (key.StartsWith(Counted, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref counter);
        }
    }

    private Task Gate()
    {
        lock (_lock)
        {
            return _open.Task;
        }
    }
}
