using Google.Protobuf;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;
using Trireme.Store.Api.Mvccpb;

namespace Trireme.Store.Client;

// KV service: the raw calls with etcd's messages, then helpers for the common shapes.
public sealed partial class EtcdClient
{
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.KVRange, request, RangeResponse.Parser, idempotent: true, cancellationToken);

    public Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.KVPut, request, PutResponse.Parser, idempotent: false, cancellationToken);

    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.KVDeleteRange, request, DeleteRangeResponse.Parser, idempotent: false, cancellationToken);

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.KVTxn, request, TxnResponse.Parser, idempotent: IsReadOnly(request), cancellationToken);

    public Task<CompactionResponse> CompactAsync(CompactionRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.KVCompact, request, CompactionResponse.Parser, idempotent: true, cancellationToken);

    /// <summary>The key's current value and metadata, or null when it does not exist.</summary>
    public async Task<KeyValue?> GetAsync(ByteString key, CancellationToken cancellationToken = default)
    {
        RangeResponse response = await RangeAsync(new RangeRequest { Key = key }, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    public Task<KeyValue?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        GetAsync(ByteString.CopyFromUtf8(key), cancellationToken);

    /// <summary>Every key with <paramref name="prefix"/>, sorted by key; <paramref name="limit"/> 0 means all.</summary>
    public Task<RangeResponse> GetPrefixAsync(string prefix, long limit = 0, long revision = 0, CancellationToken cancellationToken = default) =>
        RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = EtcdKeys.PrefixEnd(prefix), Limit = limit, Revision = revision }, cancellationToken);

    public Task<PutResponse> PutAsync(string key, string value, long lease = 0, CancellationToken cancellationToken = default) =>
        PutAsync(ByteString.CopyFromUtf8(key), ByteString.CopyFromUtf8(value), lease, cancellationToken);

    public Task<PutResponse> PutAsync(ByteString key, ByteString value, long lease = 0, CancellationToken cancellationToken = default) =>
        PutAsync(new PutRequest { Key = key, Value = value, Lease = lease }, cancellationToken);

    public Task<DeleteRangeResponse> DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) }, cancellationToken);

    public Task<DeleteRangeResponse> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = EtcdKeys.PrefixEnd(prefix) }, cancellationToken);

    /// <summary>Starts a transaction: <c>client.Txn().If(...).Then(...).Else(...).CommitAsync()</c>.</summary>
    public TxnBuilder Txn() => new(this);

    public Task<CompactionResponse> CompactAsync(long revision, bool physical = false, CancellationToken cancellationToken = default) =>
        CompactAsync(new CompactionRequest { Revision = revision, Physical = physical }, cancellationToken);

    private static bool IsReadOnly(TxnRequest request) =>
        request.Success.All(IsReadOnly) && request.Failure.All(IsReadOnly);

    private static bool IsReadOnly(RequestOp op) => op.RequestCase switch
    {
        RequestOp.RequestOneofCase.RequestRange => true,
        RequestOp.RequestOneofCase.RequestTxn => IsReadOnly(op.RequestTxn),
        _ => false,
    };
}
