using System.Text.Json.Nodes;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

// Consistent lists (resourceVersion unset) served from the cache, as kube-apiserver 1.31+ does with
// ConsistentListFromCache: the answer must reflect every write committed before the request, so the
// cache first proves it holds the store's current state of its prefix.
//
// kube-apiserver proves it by waiting until the cache's revision reaches the store's current revision,
// asking etcd for a watch progress notification to move a quiet resource's revision. Trireme cannot
// rely on those here: etcd 3.4.23 answers a progress request even for an unsynced watcher (fixed in
// 3.4.31/3.5.13), which would let the cache claim a revision whose events are still in flight, and
// Trireme's store reports the same version string, so the two cannot be told apart. Instead one
// linearizable keys-only Range proves it for any etcd: at the store's revision R, no key of the prefix
// changed after the cache's revision C and the key counts agree — then the prefix's state at R is the
// cache's state at C (every key left is unchanged since C, and none went missing). When keys did
// change, the cache is behind real events, which its watch will deliver: it waits, bounded, for its
// revision to reach R (or to move at all) and checks again. After the bounded wait or checks it gives
// up and the caller reads the store, so a lagging cache costs latency, never a stale answer.
public sealed partial class WatchCache
{
    /// <summary>How long a consistent read waits for the cache to catch up before reading the store (kube-apiserver's blockTimeout, 3 s).</summary>
    public static readonly TimeSpan ConsistentReadWait = TimeSpan.FromSeconds(3);

    /// <summary>Store checks per consistent read: each is one Range; a cache still behind after these is left to the store read.</summary>
    public const int MaxFreshnessChecks = 3;

    /// <summary>
    /// The first page (limit 0 = all) of a consistent list from the cache, or null when the cache could
    /// not prove itself current in time — the caller then reads the store.
    /// </summary>
    public async Task<CachePage?> ConsistentPageAsync(WatchFilter filter, long limit, CancellationToken ct)
    {
        if (!_ready.Task.IsCompletedSuccessfully)
        {
            return null;
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(ConsistentReadWait);
        try
        {
            for (var check = 0; check < MaxFreshnessChecks; check++)
            {
                long revision;
                int count;
                lock (_lock)
                {
                    (revision, count) = (_revision, _state.Count);
                }

                var changes = await _store.ChangesSinceAsync(Resource.ListPrefix(null), revision, wait.Token).ConfigureAwait(false);
                if (changes.ChangedModRevision == 0 && changes.Count == count)
                {
                    // The state at `revision` is the store's current state; a later cache state is
                    // fresher still, so the page may be taken at whatever revision the cache holds now.
                    return LockedPage(filter, "", limit);
                }

                // Events the store has committed are still on their way to the cache.
                if (await WaitForRevisionAsync(changes.Revision, wait.Token).ConfigureAwait(false))
                {
                    return LockedPage(filter, "", limit);
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Waited ConsistentReadWait in all: read the store.
        }

        return null;
    }

    /// <summary>
    /// A later page of a list whose continue token was issued at revision: served from the cache only
    /// if the cache holds exactly that revision (its state is then the store's state at it), else null.
    /// </summary>
    public CachePage? PageAt(long revision, WatchFilter filter, string startKey, long limit)
    {
        lock (_lock)
        {
            return _revision == revision && _ready.Task.IsCompletedSuccessfully ? Page(filter, startKey, limit) : null;
        }
    }

    /// <summary>
    /// Waits until the cache's revision reaches target; false when it stopped short of it — it moved
    /// past what it held when asked (so a fresh check can tell more) but not to target, or ct fired.
    /// </summary>
    private async Task<bool> WaitForRevisionAsync(long target, CancellationToken ct)
    {
        long start;
        lock (_lock)
        {
            start = _revision;
        }

        while (true)
        {
            Task advanced;
            lock (_lock)
            {
                if (_revision >= target)
                {
                    return true;
                }

                if (_revision > start)
                {
                    return false;
                }

                advanced = (_advanced ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await advanced.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Called under the lock whenever the revision changes.</summary>
    private void SignalAdvanced()
    {
        _advanced?.TrySetResult();
        _advanced = null;
    }

    private CachePage LockedPage(WatchFilter filter, string startKey, long limit)
    {
        lock (_lock)
        {
            return Page(filter, startKey, limit);
        }
    }

    /// <summary>Objects matching filter with key &gt;= startKey, in key order, at most limit (0 = all). Called under the lock.</summary>
    private CachePage Page(WatchFilter filter, string startKey, long limit)
    {
        var items = new List<JsonObject>();
        string? next = null;
        foreach (var (key, obj) in _state.Where(kv => string.CompareOrdinal(kv.Key, startKey) >= 0 && Matches(filter, kv.Key, kv.Value))
                     .OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (limit > 0 && items.Count == limit)
            {
                next = key;
                break;
            }

            items.Add(obj);
        }

        return new CachePage(items, _revision, next);
    }
}
