using Google.Protobuf;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client;

// Watch service: all watchers share one bidi stream (EtcdWatchStream).
public sealed partial class EtcdClient
{
    private readonly Lazy<EtcdWatchStream> _watch;

    /// <summary>Creates a watcher; returns once the server has confirmed it (created=true).</summary>
    public Task<EtcdWatch> WatchAsync(WatchCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _watch.Value.WatchAsync(request, cancellationToken);
    }

    /// <summary>
    /// Sends a WatchProgressRequest on the shared stream: every watcher receives a
    /// <see cref="WatchUpdateKind.Progress"/> update with the store's current revision.
    /// </summary>
    public Task RequestWatchProgressAsync(CancellationToken cancellationToken = default) =>
        _watch.Value.RequestProgressAsync(cancellationToken);

    /// <summary>Watches a key (or, with <paramref name="prefix"/>, every key under it) from <paramref name="startRevision"/> (0: now).</summary>
    public Task<EtcdWatch> WatchAsync(string key, long startRevision = 0, bool prefix = false, bool prevKv = false, bool progressNotify = false, CancellationToken cancellationToken = default)
    {
        var request = new WatchCreateRequest
        {
            Key = ByteString.CopyFromUtf8(key),
            StartRevision = startRevision,
            PrevKv = prevKv,
            ProgressNotify = progressNotify,
        };
        if (prefix)
        {
            request.RangeEnd = EtcdKeys.PrefixEnd(key);
        }

        return WatchAsync(request, cancellationToken);
    }
}
