using Google.Protobuf;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client;

/// <summary>Builds a <see cref="TxnRequest"/>: compares, then the ops for success and for failure.</summary>
public sealed class TxnBuilder
{
    private readonly EtcdClient? _client;

    internal TxnBuilder(EtcdClient client)
    {
        _client = client;
    }

    public TxnBuilder()
    {
    }

    public TxnRequest Request { get; } = new();

    public TxnBuilder If(params Compare[] compares)
    {
        Request.Compare.Add(compares);
        return this;
    }

    public TxnBuilder Then(params RequestOp[] ops)
    {
        Request.Success.Add(ops);
        return this;
    }

    public TxnBuilder Else(params RequestOp[] ops)
    {
        Request.Failure.Add(ops);
        return this;
    }

    public Task<TxnResponse> CommitAsync(CancellationToken cancellationToken = default) =>
        (_client ?? throw new InvalidOperationException("this builder has no client; send Request yourself")).TxnAsync(Request, cancellationToken);
}

/// <summary>Compare constructors: <c>EtcdCompare.Version("k", Compare.Types.CompareResult.Equal, 0)</c> means "k does not exist".</summary>
public static class EtcdCompare
{
    public static Compare Value(string key, Compare.Types.CompareResult result, ByteString value) =>
        new() { Key = EtcdKeys.Key(key), Target = Compare.Types.CompareTarget.Value, Result = result, Value = value };

    public static Compare Value(string key, Compare.Types.CompareResult result, string value) =>
        Value(key, result, ByteString.CopyFromUtf8(value));

    public static Compare Version(string key, Compare.Types.CompareResult result, long version) =>
        new() { Key = EtcdKeys.Key(key), Target = Compare.Types.CompareTarget.Version, Result = result, Version = version };

    public static Compare CreateRevision(string key, Compare.Types.CompareResult result, long revision) =>
        new() { Key = EtcdKeys.Key(key), Target = Compare.Types.CompareTarget.Create, Result = result, CreateRevision = revision };

    public static Compare ModRevision(string key, Compare.Types.CompareResult result, long revision) =>
        new() { Key = EtcdKeys.Key(key), Target = Compare.Types.CompareTarget.Mod, Result = result, ModRevision = revision };

    public static Compare Lease(string key, Compare.Types.CompareResult result, long lease) =>
        new() { Key = EtcdKeys.Key(key), Target = Compare.Types.CompareTarget.Lease, Result = result, Lease = lease };
}

/// <summary>RequestOp constructors for transactions.</summary>
public static class EtcdOp
{
    public static RequestOp Get(string key) => new() { RequestRange = new RangeRequest { Key = EtcdKeys.Key(key) } };

    public static RequestOp GetPrefix(string prefix) =>
        new() { RequestRange = new RangeRequest { Key = EtcdKeys.Key(prefix), RangeEnd = EtcdKeys.PrefixEnd(prefix) } };

    public static RequestOp Put(string key, ByteString value, long lease = 0, bool prevKv = false) =>
        new() { RequestPut = new PutRequest { Key = EtcdKeys.Key(key), Value = value, Lease = lease, PrevKv = prevKv } };

    public static RequestOp Put(string key, string value, long lease = 0, bool prevKv = false) => Put(key, ByteString.CopyFromUtf8(value), lease, prevKv);

    public static RequestOp Delete(string key, bool prevKv = false) =>
        new() { RequestDeleteRange = new DeleteRangeRequest { Key = EtcdKeys.Key(key), PrevKv = prevKv } };

    public static RequestOp DeletePrefix(string prefix) =>
        new() { RequestDeleteRange = new DeleteRangeRequest { Key = EtcdKeys.Key(prefix), RangeEnd = EtcdKeys.PrefixEnd(prefix) } };

    public static RequestOp Txn(TxnRequest txn) => new() { RequestTxn = txn };
}
