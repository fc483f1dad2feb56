using Trireme.Store.Core.Mvcc;

namespace Trireme.Store.Core.Watch;

/// <summary>
/// The pure part of etcd's watchable store. Watchers are member-local (not replicated, not in
/// snapshots). Two groups, as etcd: a <b>synced</b> watcher has seen every revision up to the
/// current one and receives new events as <see cref="StoreStateMachine.Apply(long, ReadOnlySpan{byte}, long)"/>
/// commits them; an <b>unsynced</b> watcher is behind (it started from an old revision, or its queue
/// was full) and catches up from MVCC history when it has room (<see cref="Take"/>, <see cref="SyncUnsynced"/>).
/// Each watcher's queue is bounded by <see cref="StoreOptions.MaxPendingEventsPerWatcher"/>: a watcher
/// whose host does not drain it falls back to unsynced instead of growing, and resumes from history
/// exactly where it stopped, so no event is lost or repeated. A watcher whose resume point was
/// compacted away is cancelled with the compact revision.
/// Ownership: the host calls everything from the one thread that applies entries (or under its lock).
/// </summary>
public sealed class WatchHub
{
    private readonly MvccStore _mvcc;
    private readonly StoreOptions _options;
    private readonly SortedDictionary<long, Watcher> _watchers = [];
    private readonly Dictionary<byte[], HashSet<Watcher>> _syncedByKey = new(ByteKeys.Instance);
    private readonly HashSet<Watcher> _syncedRanges = [];
    private readonly SortedSet<long> _unsynced = [];
    private readonly SortedSet<long> _ready = [];
    private long _nextWatcherId = 1;
    private long _syncCursor;

    internal WatchHub(MvccStore mvcc, StoreOptions options)
    {
        _mvcc = mvcc;
        _options = options;
    }

    public int Count => _watchers.Count;
    public int UnsyncedCount => _unsynced.Count;

    /// <summary>Watchers with something to <see cref="Take"/>, in ID order.</summary>
    public IReadOnlyCollection<long> Ready => _ready;

    public bool IsSynced(long watcherId) => _watchers.TryGetValue(watcherId, out Watcher? w) && w.Synced;

    /// <summary>
    /// Registers a watcher and returns its hub-wide ID (the host maps it to the stream's watch_id).
    /// From an old revision its catch-up events are queued at once (up to the queue bound); from a
    /// compacted revision its first and last output is a cancel carrying the compact revision.
    /// </summary>
    public (long WatcherId, StoreError? Error) Create(WatchCreateRequest request)
    {
        if (_watchers.Count >= _options.MaxWatchers)
        {
            return (0, StoreError.TooManyWatchers);
        }

        var watcher = new Watcher(_nextWatcherId++, request);
        _watchers.Add(watcher.Id, watcher);
        long current = _mvcc.CurrentRevision;
        if (request.StartRevision <= 0 || request.StartRevision > current)
        {
            watcher.NextRevision = request.StartRevision <= 0 ? current + 1 : request.StartRevision;
            AddSynced(watcher);
        }
        else
        {
            watcher.NextRevision = request.StartRevision;
            _unsynced.Add(watcher.Id);
            CatchUp(watcher);
        }

        return (watcher.Id, null);
    }

    /// <summary>Removes a watcher; false if it did not exist (already cancelled).</summary>
    public bool Cancel(long watcherId)
    {
        if (!_watchers.Remove(watcherId, out Watcher? watcher))
        {
            return false;
        }

        RemoveSynced(watcher);
        _unsynced.Remove(watcherId);
        _ready.Remove(watcherId);
        return true;
    }

    /// <summary>
    /// The next message for one watcher, or null if it has none: queued events first (whole revisions,
    /// at most <paramref name="maxEvents"/> unless one revision alone is larger), then a pending cancel
    /// (which removes the watcher), then a pending progress notification. Taking frees queue room, so an
    /// unsynced watcher immediately catches up further from history.
    /// </summary>
    public WatchResponse? Take(long watcherId, int maxEvents = 1000)
    {
        if (!_watchers.TryGetValue(watcherId, out Watcher? watcher))
        {
            return null;
        }

        WatchResponse? response = null;
        if (watcher.Pending.Count > 0)
        {
            response = TakeEvents(watcher, Math.Max(1, maxEvents));
        }
        else if (watcher.CancelCompactRevision != 0)
        {
            response = new WatchResponse
            {
                WatcherId = watcher.Id,
                Revision = _mvcc.CurrentRevision,
                Canceled = true,
                CompactRevision = watcher.CancelCompactRevision,
                CancelReason = StoreError.Compacted.Message,
            };
            Cancel(watcher.Id);
            return response;
        }
        else if (watcher.ProgressPending)
        {
            watcher.ProgressPending = false;
            response = new WatchResponse { WatcherId = watcher.Id, Revision = _mvcc.CurrentRevision, IsProgressNotify = true };
        }

        UpdateReady(watcher);
        return response;
    }

    /// <summary>Takes one message from each ready watcher, at most <paramref name="maxResponses"/>.</summary>
    public IReadOnlyList<WatchResponse> TakeReady(int maxResponses = int.MaxValue, int maxEventsPerResponse = 1000)
    {
        var responses = new List<WatchResponse>();
        foreach (long id in _ready.ToArray())
        {
            if (responses.Count >= maxResponses)
            {
                break;
            }

            if (Take(id, maxEventsPerResponse) is { } response)
            {
                responses.Add(response);
            }
        }

        return responses;
    }

    /// <summary>
    /// Catches up to <paramref name="maxWatchers"/> unsynced watchers that have queue room (etcd's
    /// syncWatchersLoop, which the host runs every ~100 ms). Round-robin so none starves. Returns how
    /// many became synced.
    /// </summary>
    public int SyncUnsynced(int maxWatchers = 512)
    {
        var batch = _unsynced.GetViewBetween(_syncCursor, long.MaxValue).Take(maxWatchers).ToList();
        if (batch.Count < maxWatchers)
        {
            batch.AddRange(_unsynced.Where(id => id < _syncCursor).Take(maxWatchers - batch.Count));
        }

        int synced = 0;
        foreach (long id in batch)
        {
            Watcher watcher = _watchers[id];
            _syncCursor = id + 1;
            if (watcher.Pending.Count < _options.MaxPendingEventsPerWatcher && watcher.CancelCompactRevision == 0)
            {
                CatchUp(watcher);
                synced += watcher.Synced ? 1 : 0;
            }
        }

        return synced;
    }

    /// <summary>
    /// etcd's progress notification: queues a progress message (the current revision) for every synced,
    /// idle watcher created with progress_notify. The host calls it on its own cadence (etcd: 10 min).
    /// </summary>
    public int NotifyProgress()
    {
        int notified = 0;
        foreach (Watcher watcher in _watchers.Values)
        {
            if (watcher.ProgressNotify && RequestProgress(watcher))
            {
                notified++;
            }
        }

        return notified;
    }

    /// <summary>
    /// A client's progress request for one watcher: queued only if the watcher is synced and idle, since
    /// otherwise the revision would claim events it has not yet received. Returns whether it was queued.
    /// </summary>
    public bool RequestProgress(long watcherId) =>
        _watchers.TryGetValue(watcherId, out Watcher? watcher) && RequestProgress(watcher);

    private bool RequestProgress(Watcher watcher)
    {
        if (!watcher.Synced || watcher.Pending.Count > 0 || watcher.CancelCompactRevision != 0)
        {
            return false;
        }

        watcher.ProgressPending = true;
        _ready.Add(watcher.Id);
        return true;
    }

    /// <summary>Called by the state machine after every committed write revision (all events share it).</summary>
    internal void OnCommitted(IReadOnlyList<WatchEvent> changes)
    {
        if (changes.Count == 0 || _watchers.Count == 0)
        {
            return;
        }

        long revision = changes[0].Kv.ModRevision;
        var batches = new Dictionary<Watcher, List<WatchEvent>>(ReferenceEqualityComparer.Instance);
        foreach (WatchEvent change in changes)
        {
            if (_syncedByKey.TryGetValue(change.Kv.Key, out HashSet<Watcher>? exact))
            {
                foreach (Watcher watcher in exact)
                {
                    Collect(batches, watcher, change, revision);
                }
            }

            foreach (Watcher watcher in _syncedRanges)
            {
                Collect(batches, watcher, change, revision);
            }
        }

        foreach ((Watcher watcher, List<WatchEvent> events) in batches)
        {
            if (watcher.Pending.Count > 0 && watcher.Pending.Count + events.Count > _options.MaxPendingEventsPerWatcher)
            {
                // The host is not draining this watcher: stop pushing and let it resume from history.
                watcher.NextRevision = revision;
                RemoveSynced(watcher);
                _unsynced.Add(watcher.Id);
                continue;
            }

            foreach (WatchEvent change in events)
            {
                watcher.Pending.Enqueue(change);
            }

            watcher.NextRevision = revision + 1;
            _ready.Add(watcher.Id);
        }
    }

    /// <summary>
    /// After a snapshot replaced the state: every watcher re-syncs from history (a synced one had seen
    /// everything up to <paramref name="previousRevision"/>), and is cancelled if that was compacted.
    /// </summary>
    internal void OnRestored(long previousRevision)
    {
        foreach (Watcher watcher in _watchers.Values)
        {
            if (watcher.Synced)
            {
                watcher.NextRevision = Math.Max(watcher.NextRevision, previousRevision + 1);
                RemoveSynced(watcher);
                _unsynced.Add(watcher.Id);
            }
        }

        SyncUnsynced(int.MaxValue);
    }

    private static void Collect(Dictionary<Watcher, List<WatchEvent>> batches, Watcher watcher, WatchEvent change, long revision)
    {
        if (revision < watcher.NextRevision || !watcher.Matches(change))
        {
            return;
        }

        if (!batches.TryGetValue(watcher, out List<WatchEvent>? events))
        {
            events = [];
            batches.Add(watcher, events);
        }

        events.Add(watcher.Shape(change));
    }

    /// <summary>
    /// Queues history from the watcher's NextRevision, whole revisions at a time, until its queue is
    /// full or it reaches the current revision (then it joins the synced group).
    /// </summary>
    private void CatchUp(Watcher watcher)
    {
        if (watcher.NextRevision < _mvcc.CompactRevision)
        {
            watcher.CancelCompactRevision = _mvcc.CompactRevision;
            _unsynced.Remove(watcher.Id);
            _ready.Add(watcher.Id);
            return;
        }

        long current = _mvcc.CurrentRevision;
        var revisionEvents = new List<WatchEvent>();
        foreach (IReadOnlyList<KeyValue> group in HistoryGroups(watcher, current))
        {
            revisionEvents.Clear();
            foreach (KeyValue record in group)
            {
                WatchEvent change = HistoryEvent(record);
                if (watcher.Matches(change))
                {
                    revisionEvents.Add(change);
                }
            }

            long main = group[0].Revision.Main;
            if (revisionEvents.Count > 0)
            {
                if (watcher.Pending.Count > 0 &&
                    watcher.Pending.Count + revisionEvents.Count > _options.MaxPendingEventsPerWatcher)
                {
                    watcher.NextRevision = main;
                    UpdateReady(watcher);
                    return;
                }

                foreach (WatchEvent change in revisionEvents)
                {
                    watcher.Pending.Enqueue(watcher.Shape(change));
                }
            }

            watcher.NextRevision = main + 1;
        }

        watcher.NextRevision = Math.Max(watcher.NextRevision, current + 1);
        _unsynced.Remove(watcher.Id);
        AddSynced(watcher);
        UpdateReady(watcher);
    }

    /// <summary>
    /// History records at or after the watcher's NextRevision up to <paramref name="current"/>, grouped by
    /// main revision. A single-key watcher reads only its key's records from the key index; a range
    /// watcher scans the revision-ordered history.
    /// </summary>
    private IEnumerable<IReadOnlyList<KeyValue>> HistoryGroups(Watcher watcher, long current)
    {
        IReadOnlyList<KeyValue> history = _mvcc.History;
        int at = _mvcc.FirstHistoryIndexAtOrAfter(watcher.NextRevision);
        if (watcher.IsSingleKey)
        {
            foreach (KeyValue record in _mvcc.KeyHistory(watcher.Key, watcher.NextRevision))
            {
                if (record.Revision.Main > current)
                {
                    yield break;
                }

                yield return [record];
            }

            yield break;
        }

        var group = new List<KeyValue>();
        while (at < history.Count && history[at].Revision.Main <= current)
        {
            long main = history[at].Revision.Main;
            group.Clear();
            while (at < history.Count && history[at].Revision.Main == main)
            {
                group.Add(history[at++]);
            }

            yield return group;
        }
    }

    private WatchEvent HistoryEvent(KeyValue record)
    {
        KeyValue? previous = _mvcc.GetAt(record.Key, record.Revision.Main - 1);
        return new WatchEvent(record.IsTombstone ? WatchEventType.Delete : WatchEventType.Put, record, previous);
    }

    private WatchResponse TakeEvents(Watcher watcher, int maxEvents)
    {
        var events = new List<WatchEvent>();
        while (watcher.Pending.Count > 0)
        {
            long main = watcher.Pending.Peek().Kv.ModRevision;
            if (events.Count > 0 && events[^1].Kv.ModRevision != main && events.Count >= maxEvents)
            {
                break;
            }

            events.Add(watcher.Pending.Dequeue());
        }

        if (!watcher.Synced && watcher.CancelCompactRevision == 0)
        {
            CatchUp(watcher);
        }

        long revision = watcher.Synced && watcher.Pending.Count == 0 ? _mvcc.CurrentRevision : events[^1].Kv.ModRevision;
        return new WatchResponse { WatcherId = watcher.Id, Revision = revision, Events = events };
    }

    private void AddSynced(Watcher watcher)
    {
        watcher.Synced = true;
        if (!watcher.IsSingleKey)
        {
            _syncedRanges.Add(watcher);
            return;
        }

        if (!_syncedByKey.TryGetValue(watcher.Key, out HashSet<Watcher>? set))
        {
            set = [];
            _syncedByKey.Add(watcher.Key, set);
        }

        set.Add(watcher);
    }

    private void RemoveSynced(Watcher watcher)
    {
        if (!watcher.Synced)
        {
            return;
        }

        watcher.Synced = false;
        if (!watcher.IsSingleKey)
        {
            _syncedRanges.Remove(watcher);
        }
        else if (_syncedByKey.TryGetValue(watcher.Key, out HashSet<Watcher>? set))
        {
            set.Remove(watcher);
            if (set.Count == 0)
            {
                _syncedByKey.Remove(watcher.Key);
            }
        }
    }

    private void UpdateReady(Watcher watcher)
    {
        if (watcher.HasOutput)
        {
            _ready.Add(watcher.Id);
        }
        else
        {
            _ready.Remove(watcher.Id);
        }
    }
}
