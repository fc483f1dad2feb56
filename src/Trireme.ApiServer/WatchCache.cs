using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

public enum WatchEventType { Added, Modified, Deleted, Bookmark }

/// <summary>One change as clients see it: the object (with resourceVersion) and its revision.</summary>
public sealed record CachedEvent(WatchEventType Type, string Key, JsonObject Object, JsonObject? Previous, long Revision);

/// <summary>
/// One page of a list served from the cache: the matching objects (shared: read, never change), the
/// cache revision they are the state at, and the key of the first matching object left out by the
/// limit (null when none is left).
/// </summary>
public sealed record CachePage(List<JsonObject> Items, long Revision, string? NextKey);

/// <summary>A watcher's filter: namespace, name, label and field selectors.</summary>
public sealed record WatchFilter(string? Namespace, string? Name, LabelSelector Labels, FieldSelector Fields);

/// <summary>
/// The watch cache for one resource: the current state and a bounded window of recent events,
/// fed by ONE store watch, serving any number of client watches from memory — so a thousand
/// watchers cost the store one watch. A client watch resumes from any revision still in the window;
/// older ones get 410 Gone, as kube-apiserver's cacher answers. A watcher that cannot keep up
/// (its bounded queue fills) is closed; the client re-lists, which is the protocol's recovery.
/// </summary>
public sealed partial class WatchCache : IAsyncDisposable
{
    /// <summary>kube-apiserver's default cache window is 100 events per resource grown on demand; 1024 covers kubectl and controllers.</summary>
    public const int EventWindow = 1024;

    /// <summary>Per-watcher queue bound: a client this far behind is dropped rather than grow memory.</summary>
    public const int WatcherQueueCapacity = 1000;

    private readonly IKeyValueStore _store;
    private readonly ILogger _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, JsonObject> _state = new(StringComparer.Ordinal);
    private readonly LinkedList<CachedEvent> _window = new();
    private readonly List<Watcher> _watchers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _feed;
    private long _revision;

    /// <summary>Completed (and dropped) by the next change of revision; created only while someone waits.</summary>
    private TaskCompletionSource? _advanced;

    /// <summary>The oldest revision a watch may resume from (exclusive).</summary>
    private long _windowStart;

    public ResourceInfo Resource { get; }

    public WatchCache(ResourceInfo resource, IKeyValueStore store, ILogger log)
    {
        Resource = resource;
        _store = store;
        _log = log;
    }

    public void Start() => _feed = Task.Run(() => FeedAsync(_stop.Token));

    public Task Ready => _ready.Task;

    public long Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    private async Task FeedAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var from = await ListIntoStateAsync(ct).ConfigureAwait(false);
                _ready.TrySetResult();
                await foreach (var e in _store.WatchAsync(Resource.ListPrefix(null), from, ct).ConfigureAwait(false))
                {
                    Apply(e);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _log.LogWarning(ex, "watch cache for {Resource} lost its store watch; relisting", Resource.Plural);
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>(Re)loads the whole prefix at one revision; returns the revision to watch from.</summary>
    private async Task<long> ListIntoStateAsync(CancellationToken ct)
    {
        var fresh = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        long revision = 0;
        var start = "";
        while (true)
        {
            var page = await _store.ListAsync(Resource.ListPrefix(null), start, revision, 1000, ct).ConfigureAwait(false);
            revision = page.Revision;
            foreach (var kv in page.Items)
            {
                fresh[kv.Key] = ObjectCodec.DecodeShared(kv);
            }

            if (!page.More || page.Items.Count == 0)
            {
                break;
            }

            start = page.Items[^1].Key + "\0";
        }

        lock (_lock)
        {
            // A relist after a lost watch: watchers cannot be told what they missed, so they are closed.
            if (_revision != 0)
            {
                foreach (var w in _watchers)
                {
                    w.Channel.Writer.TryComplete();
                }

                _watchers.Clear();
            }

            _state.Clear();
            foreach (var (k, v) in fresh)
            {
                _state[k] = v;
            }

            _window.Clear();
            _revision = revision;
            _windowStart = revision;
            SignalAdvanced();
        }

        return revision + 1;
    }

    private void Apply(StoreEvent e)
    {
        lock (_lock)
        {
            if (e.Kv.ModRevision <= _revision)
            {
                return;
            }

            _state.TryGetValue(e.Kv.Key, out var previous);
            CachedEvent cached;
            if (e.Type == StoreEventType.Put)
            {
                var obj = ObjectCodec.DecodeShared(e.Kv);
                _state[e.Kv.Key] = obj;
                cached = new CachedEvent(previous is null ? WatchEventType.Added : WatchEventType.Modified, e.Kv.Key, obj, previous, e.Kv.ModRevision);
            }
            else
            {
                if (previous is null)
                {
                    _revision = e.Kv.ModRevision;
                    SignalAdvanced();
                    return;
                }

                _state.Remove(e.Kv.Key);
                var last = previous.DeepClone().AsObject();
                ObjectFields.Metadata(last)["resourceVersion"] = e.Kv.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture);
                ObjectCodec.Materialize(last);
                cached = new CachedEvent(WatchEventType.Deleted, e.Kv.Key, last, previous, e.Kv.ModRevision);
            }

            _revision = e.Kv.ModRevision;
            SignalAdvanced();
            _window.AddLast(cached);
            if (_window.Count > EventWindow)
            {
                _windowStart = _window.First!.Value.Revision;
                _window.RemoveFirst();
            }

            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                var w = _watchers[i];
                if (w.Translate(cached) is { } delivered && !w.Channel.Writer.TryWrite(delivered))
                {
                    w.Channel.Writer.TryComplete();
                    _watchers.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>A consistent snapshot of the current objects matching the filter, and its revision.</summary>
    public (List<JsonObject> Items, long Revision) List(WatchFilter filter)
    {
        lock (_lock)
        {
            var items = _state.Where(kv => Matches(filter, kv.Key, kv.Value))
                .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList();
            return (items, _revision);
        }
    }

    public JsonObject? Get(string key)
    {
        lock (_lock)
        {
            return _state.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// The cached object under key and its mod revision, once the first list has loaded (before that
    /// an absent key proves nothing). The object is shared: read it, never change it.
    /// </summary>
    public bool TryGetCurrent(string key, out JsonObject obj, out long modRevision)
    {
        obj = null!;
        modRevision = 0;
        if (!_ready.Task.IsCompletedSuccessfully)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_state.TryGetValue(key, out var found))
            {
                return false;
            }

            obj = found;
        }

        modRevision = ObjectCodec.ResourceVersionOf(obj);
        return true;
    }

    private bool Matches(WatchFilter f, string key, JsonObject obj)
    {
        if (f.Namespace is { Length: > 0 } && !key.StartsWith(Resource.ListPrefix(f.Namespace), StringComparison.Ordinal))
        {
            return false;
        }

        if (f.Name is not null && ObjectFields.Name(obj) != f.Name)
        {
            return false;
        }

        return f.Labels.Matches(obj) && f.Fields.Matches(Resource, obj);
    }

    /// <summary>
    /// Starts a client watch. fromRevision 0 means "now, with synthetic ADDED events for the current
    /// state" (resourceVersion unset or "0"); otherwise events after fromRevision, or 410 Gone.
    /// </summary>
    public ChannelReader<CachedEvent> Watch(WatchFilter filter, long fromRevision, CancellationToken ct)
    {
        var watcher = new Watcher(this, filter, Channel.CreateBounded<CachedEvent>(new BoundedChannelOptions(WatcherQueueCapacity)
        {
            SingleReader = true, FullMode = BoundedChannelFullMode.Wait,
        }));
        lock (_lock)
        {
            if (fromRevision == 0)
            {
                foreach (var (key, obj) in _state.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (Matches(filter, key, obj))
                    {
                        watcher.Channel.Writer.TryWrite(new CachedEvent(WatchEventType.Added, key, obj, null, _revision));
                    }
                }
            }
            else
            {
                if (fromRevision < _windowStart)
                {
                    throw ApiException.Gone($"too old resource version: {fromRevision} ({_windowStart + 1})");
                }

                foreach (var e in _window)
                {
                    if (e.Revision > fromRevision && watcher.Translate(e) is { } delivered && !watcher.Channel.Writer.TryWrite(delivered))
                    {
                        throw new ApiException(410, "Expired", "too many events to replay; relist");
                    }
                }
            }

            _watchers.Add(watcher);
        }

        ct.Register(() =>
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }

            watcher.Channel.Writer.TryComplete();
        });
        return watcher.Channel.Reader;
    }

    private sealed class Watcher(WatchCache cache, WatchFilter filter, Channel<CachedEvent> channel)
    {
        public Channel<CachedEvent> Channel { get; } = channel;

        /// <summary>
        /// Selector transitions as kube-apiserver's cacher does them: an object leaving the filter is
        /// a DELETED, one entering it an ADDED.
        /// </summary>
        public CachedEvent? Translate(CachedEvent e)
        {
            var now = cache.Matches(filter, e.Key, e.Object);
            var before = e.Previous is not null && cache.Matches(filter, e.Key, e.Previous);
            return e.Type switch
            {
                WatchEventType.Deleted => before || now ? e : null,
                WatchEventType.Added => now ? e : null,
                _ when now && before => e,
                _ when now => e with { Type = WatchEventType.Added },
                _ when before => e with { Type = WatchEventType.Deleted },
                _ => null,
            };
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_feed is not null)
        {
            try
            {
                await _feed.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        lock (_lock)
        {
            foreach (var w in _watchers)
            {
                w.Channel.Writer.TryComplete();
            }
        }

        _stop.Dispose();
    }
}
