using Google.Protobuf;
using Trireme.Grpc;
using Trireme.Grpc.Client;

namespace Trireme.Store.Client;

/// <summary>
/// etcd v3 client over Trireme.Grpc. One HTTP/2 channel per endpoint, created on first use; a call
/// goes to the current endpoint and, when that endpoint is unreachable, moves to the next one and
/// retries within the request timeout. Requests and responses are the generated etcdserverpb
/// messages; errors are <see cref="GrpcException"/>s with etcd's codes and messages (compare with
/// Trireme.Store.Api.EtcdErrors). Thread-safe; dispose to close connections and streams.
/// </summary>
public sealed partial class EtcdClient : IDisposable, IAsyncDisposable
{
    private readonly GrpcChannel?[] _channels;
    private readonly Lock _channelsLock = new();
    private readonly CancellationTokenSource _disposed = new();
    private int _current;

    public EtcdClient(EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("at least one endpoint is needed", nameof(options));
        }

        Options = options;
        _channels = new GrpcChannel?[options.Endpoints.Count];
        _watch = new Lazy<EtcdWatchStream>(() => new EtcdWatchStream(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public EtcdClient(params Uri[] endpoints)
        : this(new EtcdClientOptions { Endpoints = endpoints })
    {
    }

    public EtcdClientOptions Options { get; }

    /// <summary>The endpoint calls currently go to.</summary>
    public Uri CurrentEndpoint => Options.Endpoints[Volatile.Read(ref _current)];

    internal CancellationToken DisposedToken => _disposed.Token;

    /// <summary>
    /// Calls a unary method with failover: on UNAVAILABLE from the transport (the member is down or
    /// unreachable) the next endpoint is tried; on UNAVAILABLE answered by a member (no leader, timed
    /// out) only <paramref name="idempotent"/> calls are retried, since a write may have been applied.
    /// </summary>
    public async Task<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request, MessageParser<TResponse> parser, bool idempotent, CancellationToken cancellationToken = default)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        DateTime deadline = DateTime.UtcNow + Options.RequestTimeout;
        int attempts = 0;
        int maxAttempts = Math.Max(3, Options.Endpoints.Count * 2);
        while (true)
        {
            int index = Volatile.Read(ref _current);
            TimeSpan remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new GrpcException(StatusCode.DeadlineExceeded, "context deadline exceeded");
            }

            try
            {
                return await Channel(index).UnaryAsync(method, request, parser, new CallOptions(remaining, cancellationToken)).ConfigureAwait(false);
            }
            catch (GrpcException e) when (e.StatusCode == StatusCode.Unavailable && ++attempts < maxAttempts && (idempotent || IsTransportFailure(e)))
            {
                MoveOffEndpoint(index);
                await BackoffAsync(attempts, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Calls one specific endpoint, without failover (Status, HashKV, Defragment are per member).</summary>
    public Task<TResponse> CallEndpointAsync<TRequest, TResponse>(Uri endpoint, string method, TRequest request, MessageParser<TResponse> parser, CancellationToken cancellationToken = default)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        int index = IndexOf(endpoint);
        return Channel(index).UnaryAsync(method, request, parser, new CallOptions(Options.RequestTimeout, cancellationToken));
    }

    /// <summary>The channel of an endpoint, for streaming calls that manage their own failover.</summary>
    internal GrpcChannel Channel(int index)
    {
        lock (_channelsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            return _channels[index] ??= new GrpcChannel(Options.Endpoints[index], new GrpcChannelOptions
            {
                CertificateAuthority = Options.CertificateAuthority,
                ClientCertificate = Options.ClientCertificate,
                ConnectTimeout = Options.DialTimeout,
                KeepAlivePingDelay = Options.KeepAlivePingDelay,
                KeepAlivePingTimeout = Options.KeepAlivePingTimeout,
                MaxSendMessageBytes = Options.MaxSendMessageBytes,
                MaxReceiveMessageBytes = Options.MaxReceiveMessageBytes,
            });
        }
    }

    internal int CurrentIndex => Volatile.Read(ref _current);

    /// <summary>Moves to the next endpoint unless another caller already did.</summary>
    internal void MoveOffEndpoint(int failedIndex) =>
        Interlocked.CompareExchange(ref _current, (failedIndex + 1) % Options.Endpoints.Count, failedIndex);

    internal async Task BackoffAsync(int attempt, CancellationToken cancellationToken)
    {
        // Going around all endpoints once costs nothing; after that, back off (bounded) so a
        // cluster without a leader is not hammered.
        if (attempt < Options.Endpoints.Count)
        {
            return;
        }

        double millis = Math.Min(Options.MaxReconnectBackoff.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(attempt, 10)));
        await Task.Delay(TimeSpan.FromMilliseconds(millis * (0.5 + Random.Shared.NextDouble() / 2)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// True when the request provably never reached a member (the connection could not be made), so
    /// even a write may be retried elsewhere. A connection that broke after the request was sent is
    /// ambiguous (the write may have been applied) and is not retried for non-idempotent calls.
    /// </summary>
    internal static bool IsTransportFailure(GrpcException e)
    {
        for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException request)
            {
                return request.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError
                    || inner.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused };
            }
        }

        return false;
    }

    private int IndexOf(Uri endpoint)
    {
        for (int i = 0; i < Options.Endpoints.Count; i++)
        {
            if (Uri.Compare(Options.Endpoints[i], endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                return i;
            }
        }

        throw new ArgumentException($"{endpoint} is not one of this client's endpoints", nameof(endpoint));
    }

    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        if (_watch.IsValueCreated)
        {
            _watch.Value.Dispose();
        }

        lock (_channelsLock)
        {
            foreach (GrpcChannel? channel in _channels)
            {
                channel?.Dispose();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
