using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Trireme.ApiServer.Storage;

/// <summary>
/// An MVCC store in memory with etcd's revision semantics (one global revision, bumped per write;
/// history kept until compacted). For unit and in-process tests only — production runs over etcd.
/// </summary>
public sealed class MemoryKeyValueStore : IKeyValueStore
{
    private readonly Lock _lock = new();
    private readonly List<StoreEvent> _history = [];
    private readonly SortedDictionary<string, KeyValue> _live = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, Channel<StoreEvent> Channel)> _watchers = [];
    private long _revision = 1;
    private long _compacted;

    public ValueTask<KeyValue?> GetAsync(string key, CancellationToken ct)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_live.GetValueOrDefault(key));
        }
    }

    public ValueTask<RangeResult> ListAsync(string prefix, string startKey, long revision, long limit, CancellationToken ct)
    {
        lock (_lock)
        {
            if (revision > 0 && revision < _compacted)
            {
                throw new StoreCompactedException(_compacted);
            }

            var at = revision > 0 ? SnapshotAt(revision) : _live;
            var from = startKey.Length > 0 ? startKey : prefix;
            var items = at.Values
                .Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(kv.Key, from) >= 0)
                .OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .ToList();
            var more = limit > 0 && items.Count > limit;
            if (more)
            {
                items = items.Take((int)limit).ToList();
            }

            return ValueTask.FromResult(new RangeResult(items, revision > 0 ? revision : _revision, more));
        }
    }

    private SortedDictionary<string, KeyValue> SnapshotAt(long revision)
    {
        var state = new SortedDictionary<string, KeyValue>(StringComparer.Ordinal);
        foreach (var e in _history.Where(e => e.Kv.ModRevision <= revision))
        {
            if (e.Type == StoreEventType.Put)
            {
                state[e.Kv.Key] = e.Kv;
            }
            else
            {
                state.Remove(e.Kv.Key);
            }
        }

        return state;
    }

    public ValueTask<WriteResult> CreateAsync(string key, byte[] value, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_live.TryGetValue(key, out var existing))
            {
                return ValueTask.FromResult(new WriteResult(WriteOutcome.AlreadyExists, _revision, existing));
            }

            var kv = new KeyValue(key, value, _revision + 1, _revision + 1);
            return ValueTask.FromResult(Commit(new StoreEvent(StoreEventType.Put, kv)));
        }
    }

    public ValueTask<WriteResult> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_live.TryGetValue(key, out var existing))
            {
                return ValueTask.FromResult(new WriteResult(WriteOutcome.NotFound, _revision, null));
            }

            if (existing.ModRevision != expectedModRevision)
            {
                return ValueTask.FromResult(new WriteResult(WriteOutcome.Conflict, _revision, existing));
            }

            var kv = new KeyValue(key, value, existing.CreateRevision, _revision + 1);
            return ValueTask.FromResult(Commit(new StoreEvent(StoreEventType.Put, kv)));
        }
    }

    public ValueTask<WriteResult> DeleteAsync(string key, long expectedModRevision, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_live.TryGetValue(key, out var existing))
            {
                return ValueTask.FromResult(new WriteResult(WriteOutcome.NotFound, _revision, null));
            }

            if (expectedModRevision != 0 && existing.ModRevision != expectedModRevision)
            {
                return ValueTask.FromResult(new WriteResult(WriteOutcome.Conflict, _revision, existing));
            }

            var tombstone = existing with { ModRevision = _revision + 1 };
            var result = Commit(new StoreEvent(StoreEventType.Delete, tombstone));
            return ValueTask.FromResult(result with { Current = existing });
        }
    }

    private WriteResult Commit(StoreEvent e)
    {
        _revision = e.Kv.ModRevision;
        if (e.Type == StoreEventType.Put)
        {
            _live[e.Kv.Key] = e.Kv;
        }
        else
        {
            _live.Remove(e.Kv.Key);
        }

        _history.Add(e);
        foreach (var (prefix, channel) in _watchers)
        {
            if (e.Kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                channel.Writer.TryWrite(e);
            }
        }

        return new WriteResult(WriteOutcome.Succeeded, _revision, e.Kv);
    }

    public async IAsyncEnumerable<StoreEvent> WatchAsync(string prefix, long fromRevision, [EnumeratorCancellation] CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<StoreEvent>();
        lock (_lock)
        {
            if (fromRevision > 0 && fromRevision <= _compacted)
            {
                throw new StoreCompactedException(_compacted);
            }

            foreach (var e in _history.Where(e => e.Kv.ModRevision >= fromRevision && e.Kv.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                channel.Writer.TryWrite(e);
            }

            _watchers.Add((prefix, channel));
        }

        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            lock (_lock)
            {
                _watchers.RemoveAll(w => w.Channel == channel);
            }
        }
    }

    public ValueTask<long> CurrentRevisionAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_revision);
        }
    }

    public ValueTask<PrefixChanges> ChangesSinceAsync(string prefix, long sinceRevision, CancellationToken ct)
    {
        lock (_lock)
        {
            var keys = _live.Values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            var changed = keys.FirstOrDefault(kv => kv.ModRevision > sinceRevision);
            return ValueTask.FromResult(new PrefixChanges(_revision, keys.Count, changed?.ModRevision ?? 0));
        }
    }

    public ValueTask CompactAsync(long revision, CancellationToken ct)
    {
        lock (_lock)
        {
            _compacted = Math.Max(_compacted, revision);
            return ValueTask.CompletedTask;
        }
    }

    public ValueTask<IReadOnlyList<StoreMemberHealth>> HealthAsync(CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<StoreMemberHealth>>([new StoreMemberHealth("etcd-0", true, "")]);

    public ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            foreach (var (_, channel) in _watchers)
            {
                channel.Writer.TryComplete();
            }
        }

        return ValueTask.CompletedTask;
    }
}
