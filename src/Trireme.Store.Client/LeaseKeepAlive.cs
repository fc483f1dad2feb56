using Trireme.Grpc;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client;

/// <summary>
/// A lease kept alive by a background loop over a LeaseKeepAlive bidi stream. <see cref="Lost"/>
/// completes when the server reports the lease gone (TTL 0: expired or revoked); a broken stream is
/// reopened, on another endpoint if needed, while the lease may still be alive. Dispose stops renewing
/// (the lease then expires on its own TTL unless revoked).
/// </summary>
public sealed class LeaseKeepAlive : IAsyncDisposable, IDisposable
{
    private readonly EtcdClient _client;
    private readonly CancellationTokenSource _stop;
    private readonly TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private long _ttlSeconds;
    private long _renewals;

    internal LeaseKeepAlive(EtcdClient client, long id, long ttlSeconds)
    {
        _client = client;
        Id = id;
        _ttlSeconds = Math.Max(1, ttlSeconds);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(client.DisposedToken);
        _loop = Task.Run(RunAsync);
    }

    public long Id { get; }

    /// <summary>TTL granted by the last renewal, in seconds.</summary>
    public long TtlSeconds => Interlocked.Read(ref _ttlSeconds);

    /// <summary>How many renewals the server has acknowledged.</summary>
    public long Renewals => Interlocked.Read(ref _renewals);

    /// <summary>Completes when the lease is known to be gone.</summary>
    public Task Lost => _lost.Task;

    private async Task RunAsync()
    {
        int failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            int index = _client.CurrentIndex;
            try
            {
                await RenewOverStreamAsync(index).ConfigureAwait(false);
                return;
            }
            catch (GrpcException) when (!_stop.IsCancellationRequested)
            {
                _client.MoveOffEndpoint(index);
                await _client.BackoffAsync(++failures, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task RenewOverStreamAsync(int endpointIndex)
    {
        await using var call = _client.Channel(endpointIndex).Duplex<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
            EtcdMethods.LeaseKeepAlive, LeaseKeepAliveResponse.Parser, new Grpc.Client.CallOptions(CancellationToken: _stop.Token));
        while (!_stop.IsCancellationRequested)
        {
            await call.WriteAsync(new LeaseKeepAliveRequest { ID = Id }, _stop.Token).ConfigureAwait(false);
            using var answerTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            answerTimeout.CancelAfter(_client.Options.RequestTimeout);
            LeaseKeepAliveResponse? response;
            try
            {
                response = await call.ReadAsync(answerTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                throw new GrpcException(StatusCode.Unavailable, "lease keep-alive got no answer in time");
            }

            if (response is null)
            {
                throw new GrpcException(StatusCode.Unavailable, "lease keep-alive stream ended");
            }

            if (response.TTL <= 0)
            {
                _lost.TrySetResult();
                return;
            }

            Interlocked.Exchange(ref _ttlSeconds, response.TTL);
            Interlocked.Increment(ref _renewals);
            // clientv3 renews at a third of the TTL: two renewals may fail before the lease expires.
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, response.TTL) / 3.0), _stop.Token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
