using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Google.Protobuf;
using Trireme.Grpc;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;
using Trireme.Store.Api.Mvccpb;

namespace Trireme.ApiServer.Storage;

/// <summary>
/// <see cref="IKeyValueStore"/> over the etcd v3 gRPC API — real etcd 3.4 or Trireme's own store.
/// The operations are kine's txn shapes, the same ones kube-apiserver's etcd3 storage issues:
/// create = Txn(mod_revision(key) == 0 → Put, else Range); update = Txn(mod_revision == expected →
/// Put, else Range); delete = Txn(mod_revision == expected → DeleteRange, else Range). One watch
/// stream per call with prev_kv off (the watch cache keeps the previous state itself).
/// Several endpoints: a call that finds its member unavailable moves to the next one.
/// </summary>
public sealed class EtcdKeyValueStore : IKeyValueStore
{
    /// <summary>Per-call deadline for unary calls; a member that does not answer in time is treated as unavailable.</summary>
    public static readonly TimeSpan UnaryTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel[] _channels;
    private int _current;

    private EtcdKeyValueStore(GrpcChannel[] channels) => _channels = channels;

    public static EtcdKeyValueStore Connect(IEnumerable<string> endpoints, string? caFile, string? certFile, string? keyFile)
    {
        X509Certificate2? ca = null;
        if (caFile is { Length: > 0 })
        {
            var cas = new X509Certificate2Collection();
            cas.ImportFromPemFile(caFile);
            ca = cas[0];
        }

        var client = certFile is { Length: > 0 } && keyFile is { Length: > 0 } ? X509Certificate2.CreateFromPemFile(certFile, keyFile) : null;
        var options = new GrpcChannelOptions { CertificateAuthority = ca, ClientCertificate = client };
        var channels = endpoints.Select(e => new GrpcChannel(new Uri(e), options)).ToArray();
        if (channels.Length == 0)
        {
            throw new ArgumentException("at least one etcd endpoint is required", nameof(endpoints));
        }

        return new EtcdKeyValueStore(channels);
    }

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    // Values handed to Create/Update are freshly encoded arrays that nobody changes afterwards, so the
    // request wraps them instead of copying (UnsafeByteOperations.UnsafeWrap).

    /// <summary>The range end covering every key with the prefix: the prefix with its last byte incremented.</summary>
    public static ByteString PrefixEnd(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0);
    }

    private static KeyValue Convert(Trireme.Store.Api.Mvccpb.KeyValue kv) =>
        new(kv.Key.ToStringUtf8(), kv.Value.ToByteArray(), kv.CreateRevision, kv.ModRevision);

    private async Task<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request, MessageParser<TResponse> parser, CancellationToken ct)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        Exception? last = null;
        for (var attempt = 0; attempt < _channels.Length; attempt++)
        {
            var index = Volatile.Read(ref _current);
            try
            {
                return await _channels[index % _channels.Length]
                    .UnaryAsync(method, request, parser, new CallOptions(UnaryTimeout, ct)).ConfigureAwait(false);
            }
            catch (GrpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !ct.IsCancellationRequested)
            {
                last = ex;
                Interlocked.CompareExchange(ref _current, (index + 1) % _channels.Length, index);
            }
            catch (GrpcException ex) when (ex.StatusCode == StatusCode.OutOfRange)
            {
                throw new StoreCompactedException(0);
            }
        }

        throw new StoreUnavailableException(last?.Message ?? "no etcd endpoint answered", last);
    }

    public async ValueTask<KeyValue?> GetAsync(string key, CancellationToken ct)
    {
        var response = await CallAsync(EtcdMethods.KVRange, new RangeRequest { Key = Bytes(key) }, RangeResponse.Parser, ct).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : Convert(response.Kvs[0]);
    }

    public async ValueTask<RangeResult> ListAsync(string prefix, string startKey, long revision, long limit, CancellationToken ct)
    {
        var request = new RangeRequest
        {
            Key = Bytes(startKey.Length > 0 ? startKey : prefix),
            RangeEnd = PrefixEnd(prefix),
            Revision = revision,
            Limit = limit,
        };
        var response = await CallAsync(EtcdMethods.KVRange, request, RangeResponse.Parser, ct).ConfigureAwait(false);
        return new RangeResult(response.Kvs.Select(Convert).ToList(), response.Header.Revision, response.More);
    }

    private static Compare ModRevisionIs(string key, long revision) => new()
    {
        Key = Bytes(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = revision,
    };

    private static RequestOp ReadBack(string key) => new() { RequestRange = new RangeRequest { Key = Bytes(key) } };

    private async Task<WriteResult> TxnAsync(string key, long expectedModRevision, RequestOp onSuccess, WriteOutcome onMissing, CancellationToken ct)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(ModRevisionIs(key, expectedModRevision));
        txn.Success.Add(onSuccess);
        txn.Failure.Add(ReadBack(key));
        var response = await CallAsync(EtcdMethods.KVTxn, txn, TxnResponse.Parser, ct).ConfigureAwait(false);
        var revision = response.Header.Revision;
        if (response.Succeeded)
        {
            return new WriteResult(WriteOutcome.Succeeded, revision, null);
        }

        var current = response.Responses.Count > 0 && response.Responses[0].ResponseRange is { Kvs.Count: > 0 } range ? Convert(range.Kvs[0]) : null;
        return new WriteResult(current is null ? onMissing : WriteOutcome.Conflict, revision, current);
    }

    public async ValueTask<WriteResult> CreateAsync(string key, byte[] value, CancellationToken ct)
    {
        var put = new RequestOp { RequestPut = new PutRequest { Key = Bytes(key), Value = UnsafeByteOperations.UnsafeWrap(value) } };
        var result = await TxnAsync(key, 0, put, WriteOutcome.AlreadyExists, ct).ConfigureAwait(false);
        return result.Outcome == WriteOutcome.Conflict ? result with { Outcome = WriteOutcome.AlreadyExists } : result;
    }

    public async ValueTask<WriteResult> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken ct)
    {
        var put = new RequestOp { RequestPut = new PutRequest { Key = Bytes(key), Value = UnsafeByteOperations.UnsafeWrap(value) } };
        return await TxnAsync(key, expectedModRevision, put, WriteOutcome.NotFound, ct).ConfigureAwait(false);
    }

    public async ValueTask<WriteResult> DeleteAsync(string key, long expectedModRevision, CancellationToken ct)
    {
        var delete = new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(key), PrevKv = true } };
        if (expectedModRevision == 0)
        {
            var response = await CallAsync(EtcdMethods.KVDeleteRange, delete.RequestDeleteRange, DeleteRangeResponse.Parser, ct).ConfigureAwait(false);
            return response.Deleted == 0
                ? new WriteResult(WriteOutcome.NotFound, response.Header.Revision, null)
                : new WriteResult(WriteOutcome.Succeeded, response.Header.Revision, response.PrevKvs.Count > 0 ? Convert(response.PrevKvs[0]) : null);
        }

        return await TxnAsync(key, expectedModRevision, delete, WriteOutcome.NotFound, ct).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<StoreEvent> WatchAsync(string prefix, long fromRevision, [EnumeratorCancellation] CancellationToken ct)
    {
        var channel = _channels[Volatile.Read(ref _current) % _channels.Length];
        await using var call = channel.Duplex<WatchRequest, WatchResponse>(EtcdMethods.Watch, WatchResponse.Parser, new CallOptions(null, ct));
        await call.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix), StartRevision = fromRevision },
        }, ct).ConfigureAwait(false);
        while (true)
        {
            WatchResponse? response;
            try
            {
                response = await call.ReadAsync(ct).ConfigureAwait(false);
            }
            catch (GrpcException ex) when (!ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref _current);
                throw new StoreUnavailableException($"watch on {prefix} ended: {ex.Message}", ex);
            }

            if (response is null)
            {
                throw new StoreUnavailableException($"watch on {prefix} ended by the server");
            }

            if (response.CompactRevision > 0)
            {
                throw new StoreCompactedException(response.CompactRevision);
            }

            if (response.Canceled)
            {
                throw new StoreUnavailableException($"watch on {prefix} canceled: {response.CancelReason}");
            }

            foreach (var e in response.Events)
            {
                var kv = Convert(e.Kv);
                yield return e.Type == Event.Types.EventType.Put
                    ? new StoreEvent(StoreEventType.Put, kv)
                    : new StoreEvent(StoreEventType.Delete, kv);
            }
        }
    }

    public async ValueTask<long> CurrentRevisionAsync(CancellationToken ct)
    {
        var response = await CallAsync(EtcdMethods.KVRange, new RangeRequest { Key = Bytes("/registry/health"), CountOnly = true }, RangeResponse.Parser, ct)
            .ConfigureAwait(false);
        return response.Header.Revision;
    }

    public async ValueTask<PrefixChanges> ChangesSinceAsync(string prefix, long sinceRevision, CancellationToken ct)
    {
        // etcd (and Trireme's store, which follows applierV3backend) reads every key of the range when
        // a mod-revision filter is set, prunes, then applies the limit; Count is taken before pruning.
        var request = new RangeRequest
        {
            Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix), MinModRevision = sinceRevision + 1, KeysOnly = true, Limit = 1,
        };
        var response = await CallAsync(EtcdMethods.KVRange, request, RangeResponse.Parser, ct).ConfigureAwait(false);
        return new PrefixChanges(response.Header.Revision, response.Count, response.Kvs.Count > 0 ? response.Kvs[0].ModRevision : 0);
    }

    public async ValueTask CompactAsync(long revision, CancellationToken ct) =>
        await CallAsync(EtcdMethods.KVCompact, new CompactionRequest { Revision = revision }, CompactionResponse.Parser, ct).ConfigureAwait(false);

    /// <summary>One entry per configured endpoint (etcd-0, etcd-1, ...), from Maintenance.Status.</summary>
    public async ValueTask<IReadOnlyList<StoreMemberHealth>> HealthAsync(CancellationToken ct)
    {
        var result = new List<StoreMemberHealth>();
        for (var i = 0; i < _channels.Length; i++)
        {
            try
            {
                var status = await _channels[i].UnaryAsync(EtcdMethods.Status, new StatusRequest(), StatusResponse.Parser,
                    new CallOptions(TimeSpan.FromSeconds(2), ct)).ConfigureAwait(false);
                result.Add(status.Errors.Count == 0
                    ? new StoreMemberHealth($"etcd-{i}", true, "")
                    : new StoreMemberHealth($"etcd-{i}", false, string.Join("; ", status.Errors)));
            }
            catch (GrpcException ex)
            {
                result.Add(new StoreMemberHealth($"etcd-{i}", false, $"{_channels[i].Address}: {ex.Message}"));
            }
        }

        return result;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var c in _channels)
        {
            c.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
