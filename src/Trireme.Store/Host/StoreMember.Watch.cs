using System.Threading.Channels;
using Trireme.Store.Core;
using Trireme.Store.Core.Watch;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Host;

/// <summary>
/// One client Watch stream's outbox. The loop thread writes protobuf responses into it (the "created"
/// acknowledgement first, then events), so the order the client sees is the order the loop decided.
/// Bounded: the loop takes events from a watcher only while its stream has room, leaving the rest in
/// the store's watch hub (which falls back to history instead of growing).
/// </summary>
public sealed class WatchSink
{
    /// <summary>Responses buffered per stream before the loop stops feeding it.</summary>
    public const int MaxBufferedResponses = 256;

    public Channel<Pb.WatchResponse> Out { get; } = Channel.CreateBounded<Pb.WatchResponse>(
        new BoundedChannelOptions(MaxBufferedResponses + 16) { SingleReader = true });

    /// <summary>hub watcher id → the stream's watch_id. Loop-owned.</summary>
    internal Dictionary<long, long> Watchers { get; } = [];

    internal long NextWatchId { get; set; }

    internal bool HasRoom => Out.Reader.Count < MaxBufferedResponses;
}

// Watch registration and delivery, all on the loop thread.
public sealed partial class StoreMember
{
    private readonly Dictionary<long, WatchSink> _watchOwners = [];
    private readonly HashSet<WatchSink> _sinks = [];

    /// <summary>Creates a watcher for <paramref name="sink"/>; the created (or refused) response goes to the sink.</summary>
    public Task CreateWatchAsync(WatchSink sink, Pb.WatchCreateRequest request) => OnLoopAsync(() =>
    {
        _sinks.Add(sink);
        var watchId = request.WatchId != 0 ? request.WatchId : sink.NextWatchId;
        if (request.WatchId == 0 || request.WatchId >= sink.NextWatchId)
        {
            sink.NextWatchId = watchId + 1;
        }

        var create = new WatchCreateRequest
        {
            Key = request.Key.ToByteArray(),
            RangeEnd = request.RangeEnd.ToByteArray(),
            StartRevision = request.StartRevision,
            PrevKv = request.PrevKv,
            ProgressNotify = request.ProgressNotify,
            NoPut = request.Filters.Contains(Pb.WatchCreateRequest.Types.FilterType.Noput),
            NoDelete = request.Filters.Contains(Pb.WatchCreateRequest.Types.FilterType.Nodelete),
        };
        var (hubId, error) = request.Key.IsEmpty ? (0, StoreError.EmptyKey) : _store.Watches.Create(create);
        if (error is not null || sink.Watchers.ContainsValue(watchId))
        {
            // etcd answers a refused create with created=true then canceled=true and the reason.
            if (hubId != 0)
            {
                _store.Watches.Cancel(hubId);
            }

            sink.Out.Writer.TryWrite(new Pb.WatchResponse
            {
                Header = Header(), WatchId = -1, Created = true, Canceled = true,
                CancelReason = error?.Message ?? "mvcc: duplicate watch ID",
            });
            return true;
        }

        sink.Watchers[hubId] = watchId;
        _watchOwners[hubId] = sink;
        sink.Out.Writer.TryWrite(new Pb.WatchResponse { Header = Header(), WatchId = watchId, Created = true });
        return true;
    });

    public Task CancelWatchAsync(WatchSink sink, long watchId) => OnLoopAsync(() =>
    {
        foreach (var (hubId, id) in sink.Watchers.Where(w => w.Value == watchId).ToList())
        {
            _store.Watches.Cancel(hubId);
            sink.Watchers.Remove(hubId);
            _watchOwners.Remove(hubId);
            sink.Out.Writer.TryWrite(new Pb.WatchResponse { Header = Header(), WatchId = id, Canceled = true });
        }

        return true;
    });

    public Task RequestProgressAsync(WatchSink sink) => OnLoopAsync(() =>
    {
        // etcd answers a progress request with watch_id -1 and the current revision when all watchers are synced.
        if (sink.Watchers.Keys.All(_store.Watches.IsSynced))
        {
            sink.Out.Writer.TryWrite(new Pb.WatchResponse { Header = Header(), WatchId = -1 });
        }

        return true;
    });

    /// <summary>Stream ended: drop its watchers so nothing leaks.</summary>
    public void CloseWatchSink(WatchSink sink) => Post(() =>
    {
        foreach (var hubId in sink.Watchers.Keys)
        {
            _store.Watches.Cancel(hubId);
            _watchOwners.Remove(hubId);
        }

        sink.Watchers.Clear();
        _sinks.Remove(sink);
        sink.Out.Writer.TryComplete();
    });

    private void PumpWatches()
    {
        if (_store.Watches.Ready.Count == 0)
        {
            return;
        }

        foreach (var hubId in _store.Watches.Ready.ToArray())
        {
            if (!_watchOwners.TryGetValue(hubId, out var sink))
            {
                _store.Watches.Cancel(hubId);
                continue;
            }

            if (!sink.HasRoom || _store.Watches.Take(hubId) is not { } response)
            {
                continue;
            }

            sink.Out.Writer.TryWrite(ToProto(response, sink.Watchers[hubId]));
            if (response.Canceled)
            {
                sink.Watchers.Remove(hubId);
                _watchOwners.Remove(hubId);
            }
        }
    }

    private Pb.WatchResponse ToProto(WatchResponse response, long watchId)
    {
        var proto = new Pb.WatchResponse
        {
            Header = Header(response.Revision),
            WatchId = watchId,
            Canceled = response.Canceled,
            CompactRevision = response.CompactRevision,
        };
        if (response.Canceled && response.CompactRevision == 0)
        {
            proto.CancelReason = response.CancelReason;
        }

        foreach (var change in response.Events)
        {
            var ev = new Trireme.Store.Api.Mvccpb.Event
            {
                Type = change.Type == WatchEventType.Put
                    ? Trireme.Store.Api.Mvccpb.Event.Types.EventType.Put
                    : Trireme.Store.Api.Mvccpb.Event.Types.EventType.Delete,
                Kv = ProtoMapping.ToProto(change.Kv),
            };
            if (change.PrevKv is { } prev)
            {
                ev.PrevKv = ProtoMapping.ToProto(prev);
            }

            proto.Events.Add(ev);
        }

        return proto;
    }

    /// <summary>etcd's ResponseHeader as of the loop's current state.</summary>
    internal Pb.ResponseHeader Header(long revision = 0) => new()
    {
        ClusterId = ClusterId,
        MemberId = Id,
        Revision = revision == 0 ? _store.CurrentRevision : revision,
        RaftTerm = _raft.Term,
    };

    /// <summary>
    /// The header of a write's answer, built on the caller's thread: the revision is the write's own, and
    /// the term is the one the loop last published (etcd's server reads its term atomically the same way).
    /// Saves a second trip through the loop per write after its apply (two thread hand-offs).
    /// </summary>
    internal Pb.ResponseHeader WriteHeader(long revision) => new()
    {
        ClusterId = ClusterId,
        MemberId = Id,
        Revision = revision,
        RaftTerm = Volatile.Read(ref _publishedTerm),
    };

    private void CloseAllWatchStreams()
    {
        foreach (var sink in _sinks)
        {
            sink.Out.Writer.TryComplete();
        }
    }
}
