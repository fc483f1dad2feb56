using Google.Protobuf;
using Trireme.Store.Core;
using Mvcc = Trireme.Store.Api.Mvccpb;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Host;

/// <summary>Field-by-field mapping between etcd's protobuf messages and the store core's request types
/// (the core's names and enum numbers are etcd's, so this is mechanical).</summary>
public static class ProtoMapping
{
    /// <summary>Wraps the version's bytes without copying them: a stored version's key and value never
    /// change (see <see cref="KeyValue"/>), and a ByteString is read-only.</summary>
    public static Mvcc.KeyValue ToProto(KeyValue kv) => new()
    {
        Key = UnsafeByteOperations.UnsafeWrap(kv.Key),
        CreateRevision = kv.CreateRevision,
        ModRevision = kv.ModRevision,
        Version = kv.Version,
        Value = UnsafeByteOperations.UnsafeWrap(kv.Value),
        Lease = kv.Lease,
    };

    public static RangeRequest FromProto(Pb.RangeRequest r) => new()
    {
        Key = r.Key.ToByteArray(),
        RangeEnd = r.RangeEnd.ToByteArray(),
        Limit = r.Limit,
        Revision = r.Revision,
        SortOrder = (SortOrder)r.SortOrder,
        SortTarget = (SortTarget)r.SortTarget,
        Serializable = r.Serializable,
        KeysOnly = r.KeysOnly,
        CountOnly = r.CountOnly,
        MinModRevision = r.MinModRevision,
        MaxModRevision = r.MaxModRevision,
        MinCreateRevision = r.MinCreateRevision,
        MaxCreateRevision = r.MaxCreateRevision,
    };

    public static PutRequest FromProto(Pb.PutRequest r) => new()
    {
        Key = r.Key.ToByteArray(),
        Value = r.Value.Memory, // the parsed message owns these bytes; the command encoding copies them
        Lease = r.Lease,
        PrevKv = r.PrevKv,
        IgnoreValue = r.IgnoreValue,
        IgnoreLease = r.IgnoreLease,
    };

    public static DeleteRangeRequest FromProto(Pb.DeleteRangeRequest r) => new()
    {
        Key = r.Key.ToByteArray(),
        RangeEnd = r.RangeEnd.ToByteArray(),
        PrevKv = r.PrevKv,
    };

    public static TxnRequest FromProto(Pb.TxnRequest r) => new()
    {
        Compare = r.Compare.Select(FromProto).ToList(),
        Success = r.Success.Select(FromProto).ToList(),
        Failure = r.Failure.Select(FromProto).ToList(),
    };

    private static Compare FromProto(Pb.Compare c) => new()
    {
        Result = (CompareResult)c.Result,
        Target = (CompareTarget)c.Target,
        Key = c.Key.ToByteArray(),
        RangeEnd = c.RangeEnd.ToByteArray(),
        Number = c.TargetUnionCase switch
        {
            Pb.Compare.TargetUnionOneofCase.Version => c.Version,
            Pb.Compare.TargetUnionOneofCase.CreateRevision => c.CreateRevision,
            Pb.Compare.TargetUnionOneofCase.ModRevision => c.ModRevision,
            Pb.Compare.TargetUnionOneofCase.Lease => c.Lease,
            _ => 0,
        },
        Value = c.TargetUnionCase == Pb.Compare.TargetUnionOneofCase.Value ? c.Value.ToByteArray() : [],
    };

    private static StoreRequest FromProto(Pb.RequestOp op) => op.RequestCase switch
    {
        Pb.RequestOp.RequestOneofCase.RequestRange => FromProto(op.RequestRange),
        Pb.RequestOp.RequestOneofCase.RequestPut => FromProto(op.RequestPut),
        Pb.RequestOp.RequestOneofCase.RequestDeleteRange => FromProto(op.RequestDeleteRange),
        Pb.RequestOp.RequestOneofCase.RequestTxn => FromProto(op.RequestTxn),
        // etcd rejects an empty RequestOp as a malformed request.
        _ => throw new Trireme.Grpc.GrpcException(Trireme.Grpc.StatusCode.InvalidArgument, "etcdserver: key is not provided"),
    };

    public static Pb.RangeResponse ToProto(RangeResponse r, Pb.ResponseHeader header)
    {
        var proto = new Pb.RangeResponse { Header = header, More = r.More, Count = r.Count };
        proto.Kvs.AddRange(r.Kvs.Select(ToProto));
        return proto;
    }

    public static Pb.PutResponse ToProto(PutResponse r, Pb.ResponseHeader header) =>
        new() { Header = header, PrevKv = r.PrevKv is null ? null : ToProto(r.PrevKv) };

    public static Pb.DeleteRangeResponse ToProto(DeleteRangeResponse r, Pb.ResponseHeader header)
    {
        var proto = new Pb.DeleteRangeResponse { Header = header, Deleted = r.Deleted };
        proto.PrevKvs.AddRange(r.PrevKvs.Select(ToProto));
        return proto;
    }

    public static Pb.TxnResponse ToProto(TxnResponse r, Pb.ResponseHeader header)
    {
        var proto = new Pb.TxnResponse { Header = header, Succeeded = r.Succeeded };
        foreach (var response in r.Responses)
        {
            // etcd fills only the revision of a txn's nested responses, each as of that op (a range before
            // the txn's first write still reads the previous revision); the cluster and member ids and the
            // raft term are on the outer header alone (etcdctl txn -w json shows both).
            var inner = new Pb.ResponseHeader { Revision = response.Revision };
            proto.Responses.Add(response switch
            {
                RangeResponse range => new Pb.ResponseOp { ResponseRange = ToProto(range, inner) },
                PutResponse put => new Pb.ResponseOp { ResponsePut = ToProto(put, inner) },
                DeleteRangeResponse del => new Pb.ResponseOp { ResponseDeleteRange = ToProto(del, inner) },
                TxnResponse txn => new Pb.ResponseOp { ResponseTxn = ToProto(txn, inner) },
                _ => new Pb.ResponseOp(),
            });
        }

        return proto;
    }

    public static Pb.Member ToProto(MemberInfo m)
    {
        var proto = new Pb.Member { ID = m.Id, Name = m.Name, IsLearner = m.IsLearner };
        proto.PeerURLs.AddRange(m.PeerUrls);
        proto.ClientURLs.AddRange(m.ClientUrls);
        return proto;
    }
}
