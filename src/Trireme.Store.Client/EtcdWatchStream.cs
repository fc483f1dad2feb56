using Trireme.Grpc;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client;

/// <summary>
/// The client's one Watch bidi stream, multiplexing every watcher (as clientv3 does). Creates are
/// sent one at a time, because etcd answers them in order with the new watch ID. When the stream
/// breaks, the next endpoint is dialled and every live watcher is re-created from its
/// <see cref="EtcdWatch.NextRevision"/>; a watcher whose revision was compacted meanwhile gets a
/// <see cref="WatchUpdateKind.Compacted"/> update and ends.
/// </summary>
internal sealed class EtcdWatchStream : IDisposable
{
    private readonly EtcdClient _client;
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private readonly Lock _stateLock = new();
    private readonly Dictionary<long, EtcdWatch> _byId = [];
    private readonly HashSet<EtcdWatch> _live = [];
    private DuplexCall<WatchRequest, WatchResponse>? _call;
    private PendingCreate? _pendingCreate;
    private int _failures;

    public EtcdWatchStream(EtcdClient client)
    {
        _client = client;
    }

    public async Task<EtcdWatch> WatchAsync(WatchCreateRequest request, CancellationToken cancellationToken)
    {
        var watch = new EtcdWatch(this, request.Clone(), _client.Options.WatchBufferResponses);
        DateTime deadline = DateTime.UtcNow + _client.Options.RequestTimeout;
        while (true)
        {
            await _createLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnsureConnectedLockedAsync(cancellationToken).ConfigureAwait(false);
                await CreateLockedAsync(watch, watch.Request, cancellationToken).ConfigureAwait(false);
                return watch;
            }
            catch (GrpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                // The stream broke under the create: reconnect (below, or by the receive loop) and retry.
            }
            finally
            {
                _createLock.Release();
            }

            await _client.BackoffAsync(++_failures, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask CancelAsync(EtcdWatch watch)
    {
        DuplexCall<WatchRequest, WatchResponse>? call;
        lock (_stateLock)
        {
            _live.Remove(watch);
            _byId.Remove(watch.WatchId);
            call = _call;
            watch.Ended = true;
        }

        watch.Writer.TryComplete();
        if (call is not null && watch.WatchId >= 0)
        {
            try
            {
                await call.WriteAsync(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = watch.WatchId } }).ConfigureAwait(false);
            }
            catch (GrpcException)
            {
                // The stream is gone; so is the watch on the server.
            }
        }
    }

    private async Task EnsureConnectedLockedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _call) is not null)
        {
            return;
        }

        int index = _client.CurrentIndex;
        var call = _client.Channel(index).Duplex<WatchRequest, WatchResponse>(EtcdMethods.Watch, WatchResponse.Parser,
            new CallOptions(CancellationToken: _client.DisposedToken));
        Volatile.Write(ref _call, call);
        _ = Task.Run(() => ReceiveLoopAsync(call, index), CancellationToken.None);

        EtcdWatch[] resume;
        lock (_stateLock)
        {
            resume = [.. _live];
        }

        foreach (EtcdWatch watch in resume)
        {
            await CreateLockedAsync(watch, watch.ResumeRequest(), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CreateLockedAsync(EtcdWatch watch, WatchCreateRequest request, CancellationToken cancellationToken)
    {
        DuplexCall<WatchRequest, WatchResponse> call = Volatile.Read(ref _call)
            ?? throw new GrpcException(StatusCode.Unavailable, "watch stream is reconnecting");
        var pending = new PendingCreate(watch, request, new TaskCompletionSource<WatchResponse>(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref _pendingCreate, pending);
        await call.WriteAsync(new WatchRequest { CreateRequest = request }, cancellationToken).ConfigureAwait(false);
        WatchResponse response = await pending.Created.Task.WaitAsync(_client.Options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (response.Canceled)
        {
            // etcd 3.4 refuses some creates outright (e.g. a future start revision) with a reason.
            throw new GrpcException(StatusCode.InvalidArgument, response.CancelReason.Length > 0 ? response.CancelReason : "etcdserver: watch canceled");
        }

        _failures = 0;
    }

    private async Task ReceiveLoopAsync(DuplexCall<WatchRequest, WatchResponse> call, int endpointIndex)
    {
        try
        {
            while (await call.ReadAsync().ConfigureAwait(false) is { } response)
            {
                await RouteAsync(response).ConfigureAwait(false);
            }

            throw new GrpcException(StatusCode.Unavailable, "watch stream ended");
        }
#pragma warning disable CA1031 // Whatever broke the stream, the remedy is the same: reconnect and resume.
        catch (Exception e)
#pragma warning restore CA1031
        {
            await call.DisposeAsync().ConfigureAwait(false);
            lock (_stateLock)
            {
                _byId.Clear();
            }

            Volatile.Write(ref _call, null);
            Volatile.Read(ref _pendingCreate)?.Created.TrySetException(new GrpcException(StatusCode.Unavailable, "watch stream broke: " + e.Message, e));
            if (_client.DisposedToken.IsCancellationRequested)
            {
                return;
            }

            _client.MoveOffEndpoint(endpointIndex);
            _ = Task.Run(ReconnectAsync, CancellationToken.None);
        }
    }

    private async Task ReconnectAsync()
    {
        CancellationToken stop = _client.DisposedToken;
        while (!stop.IsCancellationRequested)
        {
            bool hasWatchers;
            lock (_stateLock)
            {
                hasWatchers = _live.Count > 0;
            }

            if (!hasWatchers)
            {
                return;
            }

            try
            {
                await _client.BackoffAsync(++_failures, stop).ConfigureAwait(false);
                await _createLock.WaitAsync(stop).ConfigureAwait(false);
                try
                {
                    await EnsureConnectedLockedAsync(stop).ConfigureAwait(false);
                    return;
                }
                finally
                {
                    _createLock.Release();
                }
            }
#pragma warning disable CA1031 // Any failure to resume is handled by ending that stream and trying the next endpoint.
            catch (Exception)
#pragma warning restore CA1031
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                // That endpoint failed too: end its stream; its receive loop moves to the next
                // endpoint and schedules another attempt (with backoff).
                if (Volatile.Read(ref _call) is { } half)
                {
                    await half.DisposeAsync().ConfigureAwait(false);
                }

                return;
            }
        }
    }

    private async Task RouteAsync(WatchResponse response)
    {
        if (response.Created && Volatile.Read(ref _pendingCreate) is { } pending)
        {
            // Registered here, before the next response is read: etcd may send the watch's first
            // events (or its compaction) right behind the created response.
            if (!response.Canceled)
            {
                Register(pending, response);
            }

            Interlocked.CompareExchange(ref _pendingCreate, null, pending);
            pending.Created.TrySetResult(response);
            if (!response.Canceled)
            {
                return;
            }
        }

        if (response.WatchId == BroadcastWatchId && response.Events.Count == 0 && !response.Created)
        {
            await BroadcastProgressAsync(response.Header?.Revision ?? 0).ConfigureAwait(false);
            return;
        }

        EtcdWatch? watch;
        lock (_stateLock)
        {
            _byId.TryGetValue(response.WatchId, out watch);
        }

        if (watch is null || watch.Ended)
        {
            return;
        }

        long revision = response.Header?.Revision ?? 0;
        WatchUpdate update;
        if (response.CompactRevision != 0)
        {
            update = new WatchUpdate(WatchUpdateKind.Compacted, [], revision, response.CompactRevision, response.CancelReason);
        }
        else if (response.Canceled)
        {
            update = new WatchUpdate(WatchUpdateKind.Canceled, [], revision, 0, response.CancelReason);
        }
        else if (response.Events.Count > 0)
        {
            watch.NextRevision = response.Events[^1].Kv.ModRevision + 1;
            update = new WatchUpdate(WatchUpdateKind.Events, response.Events, revision, 0, "");
        }
        else
        {
            watch.NextRevision = Math.Max(watch.NextRevision, revision + 1);
            update = new WatchUpdate(WatchUpdateKind.Progress, [], revision, 0, "");
        }

        if (await watch.Writer.WaitToWriteAsync(_client.DisposedToken).ConfigureAwait(false))
        {
            watch.Writer.TryWrite(update);
        }

        if (update.Kind is WatchUpdateKind.Compacted or WatchUpdateKind.Canceled)
        {
            lock (_stateLock)
            {
                watch.Ended = true;
                _live.Remove(watch);
                _byId.Remove(response.WatchId);
            }

            watch.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Answer to a WatchProgressRequest: etcd 3.4 sends the stream's current revision with watch ID -1
    /// for every watcher. It does not advance resume revisions: a watcher still replaying history may
    /// not have reached that revision yet.
    /// </summary>
    private async Task BroadcastProgressAsync(long revision)
    {
        EtcdWatch[] watches;
        lock (_stateLock)
        {
            watches = [.. _live];
        }

        foreach (EtcdWatch watch in watches)
        {
            if (!watch.Ended && await watch.Writer.WaitToWriteAsync(_client.DisposedToken).ConfigureAwait(false))
            {
                watch.Writer.TryWrite(new WatchUpdate(WatchUpdateKind.Progress, [], revision, 0, ""));
            }
        }
    }

    /// <summary>Asks the server for a progress notification on every watcher of the stream.</summary>
    public async Task RequestProgressAsync(CancellationToken cancellationToken)
    {
        DuplexCall<WatchRequest, WatchResponse> call = Volatile.Read(ref _call)
            ?? throw new GrpcException(StatusCode.Unavailable, "watch stream is not connected");
        await call.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, cancellationToken).ConfigureAwait(false);
    }

    private void Register(PendingCreate pending, WatchResponse response)
    {
        EtcdWatch watch = pending.Watch;
        lock (_stateLock)
        {
            watch.WatchId = response.WatchId;
            if (watch.NextRevision == 0 && pending.Request.StartRevision == 0)
            {
                // Watching "from now": the created header's revision is already seen.
                watch.NextRevision = response.Header.Revision + 1;
            }

            _byId[response.WatchId] = watch;
            _live.Add(watch);
        }
    }

    private sealed record PendingCreate(EtcdWatch Watch, WatchCreateRequest Request, TaskCompletionSource<WatchResponse> Created);

    /// <summary>etcd's ID for responses that concern every watcher of a stream (clientv3.InvalidWatchID).</summary>
    private const long BroadcastWatchId = -1;

    public void Dispose()
    {
        Volatile.Read(ref _call)?.Dispose();
        lock (_stateLock)
        {
            foreach (EtcdWatch watch in _live)
            {
                watch.Writer.TryComplete();
            }

            _live.Clear();
        }
    }
}
