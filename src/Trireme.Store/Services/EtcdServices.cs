using Google.Protobuf;
using Trireme.Grpc;
using Trireme.Grpc.Server;
using Trireme.Store.Api;
using Trireme.Store.Core;
using Trireme.Store.Host;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Services;

/// <summary>
/// etcd's v3 gRPC services (KV, Watch, Lease, Cluster, Maintenance) mapped onto one <see cref="StoreMember"/>.
/// Handlers translate protobuf ⇄ core types and store errors ⇄ etcd's gRPC codes and messages; all
/// decisions are the member's.
/// </summary>
public static partial class EtcdServices
{
    /// <summary>Version reported by Maintenance.Status: the etcd API level Trireme speaks.</summary>
    public const string ApiVersion = "3.4.23";

    /// <summary>Snapshot stream chunk size (etcd sends 32 KiB chunks).</summary>
    private const int SnapshotChunkBytes = 32 * 1024;

    public static GrpcServer Map(GrpcServer server, StoreMember member, StreamCounters? streams = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(member);
        streams ??= new StreamCounters(member.Id);
        server.MapUnary<Pb.RangeRequest, Pb.RangeResponse>(EtcdMethods.KVRange, (r, c) => Range(member, r, c));
        server.MapUnary<Pb.PutRequest, Pb.PutResponse>(EtcdMethods.KVPut, (r, c) => Put(member, r, c));
        server.MapUnary<Pb.DeleteRangeRequest, Pb.DeleteRangeResponse>(EtcdMethods.KVDeleteRange, (r, c) => Delete(member, r, c));
        server.MapUnary<Pb.TxnRequest, Pb.TxnResponse>(EtcdMethods.KVTxn, (r, c) => Txn(member, r, c));
        server.MapUnary<Pb.CompactionRequest, Pb.CompactionResponse>(EtcdMethods.KVCompact, (r, c) => Compact(member, r, c));
        server.MapDuplex<Pb.WatchRequest, Pb.WatchResponse>(EtcdMethods.Watch, (i, o, c) => Watch(member, streams, i, o, c));
        server.MapUnary<Pb.LeaseGrantRequest, Pb.LeaseGrantResponse>(EtcdMethods.LeaseGrant, (r, c) => LeaseGrant(member, r, c));
        server.MapUnary<Pb.LeaseRevokeRequest, Pb.LeaseRevokeResponse>(EtcdMethods.LeaseRevoke, (r, c) => LeaseRevoke(member, r, c));
        server.MapDuplex<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse>(EtcdMethods.LeaseKeepAlive, (i, o, c) => KeepAlive(member, streams, i, o, c));
        server.MapUnary<Pb.LeaseTimeToLiveRequest, Pb.LeaseTimeToLiveResponse>(EtcdMethods.LeaseTimeToLive, (r, c) => TimeToLive(member, r));
        server.MapUnary<Pb.LeaseLeasesRequest, Pb.LeaseLeasesResponse>(EtcdMethods.LeaseLeases, (r, c) => Leases(member, c));
        MapCluster(server, member);
        MapMaintenance(server, member);
        return server;
    }

    internal static GrpcException ToException(StoreError error) => new((StatusCode)(int)error.Status, error.Message);

    private static async Task<Pb.ResponseHeader> HeaderAsync(StoreMember member) =>
        await member.OnLoopAsync(() => member.Header()).ConfigureAwait(false);

    private static async ValueTask<Pb.RangeResponse> Range(StoreMember member, Pb.RangeRequest request, ServerCallContext call)
    {
        var core = ProtoMapping.FromProto(request);
        var (response, error, header) = await member.ReadAsync(request.Serializable, store =>
        {
            var (r, e) = store.Range(core);
            return (r, e, member.Header());
        }, call.CancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            throw ToException(error);
        }

        return ProtoMapping.ToProto(response!, header);
    }

    private static async Task<(T Response, Pb.ResponseHeader Header)> Write<T>(StoreMember member, StoreRequest request, CancellationToken ct)
        where T : StoreResponse
    {
        var result = await member.ProposeAsync(request, ct).ConfigureAwait(false);
        if (result.Error is not null)
        {
            throw ToException(result.Error);
        }

        return ((T)result.Response!, member.WriteHeader(result.Response!.Revision));
    }

    private static async ValueTask<Pb.PutResponse> Put(StoreMember member, Pb.PutRequest request, ServerCallContext call)
    {
        if (request.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey.ToException();
        }

        var (response, header) = await Write<PutResponse>(member, ProtoMapping.FromProto(request), call.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToProto(response, header);
    }

    private static async ValueTask<Pb.DeleteRangeResponse> Delete(StoreMember member, Pb.DeleteRangeRequest request, ServerCallContext call)
    {
        if (request.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey.ToException();
        }

        var (response, header) = await Write<DeleteRangeResponse>(member, ProtoMapping.FromProto(request), call.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToProto(response, header);
    }

    private static async ValueTask<Pb.TxnResponse> Txn(StoreMember member, Pb.TxnRequest request, ServerCallContext call)
    {
        var core = ProtoMapping.FromProto(request);
        var (response, header) = await Write<TxnResponse>(member, core, call.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToProto(response, header);
    }

    private static async ValueTask<Pb.CompactionResponse> Compact(StoreMember member, Pb.CompactionRequest request, ServerCallContext call)
    {
        var (_, header) = await Write<CompactionResponse>(member, new CompactionRequest { Revision = request.Revision, Physical = request.Physical },
            call.CancellationToken).ConfigureAwait(false);
        return new Pb.CompactionResponse { Header = header };
    }

    private static async Task Watch(StoreMember member, StreamCounters streams, GrpcRequestStream<Pb.WatchRequest> requests,
        GrpcResponseStream<Pb.WatchResponse> responses, ServerCallContext call)
    {
        streams.WatchStreamOpened();
        try
        {
            await Watch(member, requests, responses, call).ConfigureAwait(false);
        }
        finally
        {
            streams.WatchStreamClosed();
        }
    }

    private static async Task Watch(StoreMember member, GrpcRequestStream<Pb.WatchRequest> requests,
        GrpcResponseStream<Pb.WatchResponse> responses, ServerCallContext call)
    {
        var sink = new WatchSink();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(call.CancellationToken);
        var writer = Task.Run(async () =>
        {
            await foreach (var response in sink.Out.Reader.ReadAllAsync(done.Token).ConfigureAwait(false))
            {
                await responses.WriteAsync(response, done.Token).ConfigureAwait(false);
            }
        }, done.Token);
        try
        {
            await foreach (var request in requests.ConfigureAwait(false))
            {
                switch (request.RequestUnionCase)
                {
                    case Pb.WatchRequest.RequestUnionOneofCase.CreateRequest:
                        await member.CreateWatchAsync(sink, request.CreateRequest).ConfigureAwait(false);
                        break;
                    case Pb.WatchRequest.RequestUnionOneofCase.CancelRequest:
                        await member.CancelWatchAsync(sink, request.CancelRequest.WatchId).ConfigureAwait(false);
                        break;
                    case Pb.WatchRequest.RequestUnionOneofCase.ProgressRequest:
                        await member.RequestProgressAsync(sink).ConfigureAwait(false);
                        break;
                }
            }

            // The client half-closed: keep delivering until it goes away (etcd keeps the stream open too).
            await writer.ConfigureAwait(false);
        }
        finally
        {
            member.CloseWatchSink(sink);
            await done.CancelAsync().ConfigureAwait(false);
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        }
    }

    private static async ValueTask<Pb.LeaseGrantResponse> LeaseGrant(StoreMember member, Pb.LeaseGrantRequest request, ServerCallContext call)
    {
        var (response, header) = await Write<LeaseGrantResponse>(member, new LeaseGrantRequest { Ttl = request.TTL, Id = request.ID },
            call.CancellationToken).ConfigureAwait(false);
        return new Pb.LeaseGrantResponse { Header = header, ID = response.Id, TTL = response.Ttl };
    }

    private static async ValueTask<Pb.LeaseRevokeResponse> LeaseRevoke(StoreMember member, Pb.LeaseRevokeRequest request, ServerCallContext call)
    {
        var (_, header) = await Write<LeaseRevokeResponse>(member, new LeaseRevokeRequest { Id = request.ID }, call.CancellationToken)
            .ConfigureAwait(false);
        return new Pb.LeaseRevokeResponse { Header = header };
    }

    private static async Task KeepAlive(StoreMember member, StreamCounters streams, GrpcRequestStream<Pb.LeaseKeepAliveRequest> requests,
        GrpcResponseStream<Pb.LeaseKeepAliveResponse> responses, ServerCallContext call)
    {
        streams.KeepAliveStreamOpened();
        try
        {
            await KeepAlive(member, requests, responses, call).ConfigureAwait(false);
        }
        finally
        {
            streams.KeepAliveStreamClosed();
        }
    }

    private static async Task KeepAlive(StoreMember member, GrpcRequestStream<Pb.LeaseKeepAliveRequest> requests,
        GrpcResponseStream<Pb.LeaseKeepAliveResponse> responses, ServerCallContext call)
    {
        await foreach (var request in requests.ConfigureAwait(false))
        {
            var ttl = await LeaseForwarding.RenewAsync(member, request.ID, call.CancellationToken).ConfigureAwait(false);
            var header = await HeaderAsync(member).ConfigureAwait(false);
            // etcd answers an unknown lease with TTL 0 rather than an error status.
            await responses.WriteAsync(new Pb.LeaseKeepAliveResponse { Header = header, ID = request.ID, TTL = ttl },
                call.CancellationToken).ConfigureAwait(false);
        }
    }

    private static async ValueTask<Pb.LeaseTimeToLiveResponse> TimeToLive(StoreMember member, Pb.LeaseTimeToLiveRequest request)
    {
        var ttl = await member.TimeToLiveAsync(request.ID, request.Keys).ConfigureAwait(false);
        var header = await HeaderAsync(member).ConfigureAwait(false);
        if (ttl is null)
        {
            return new Pb.LeaseTimeToLiveResponse { Header = header, ID = request.ID, TTL = -1 };
        }

        var response = new Pb.LeaseTimeToLiveResponse { Header = header, ID = ttl.Id, TTL = ttl.Ttl, GrantedTTL = ttl.GrantedTtl };
        response.Keys.AddRange(ttl.Keys.Select(ByteString.CopyFrom));
        return response;
    }

    private static async ValueTask<Pb.LeaseLeasesResponse> Leases(StoreMember member, ServerCallContext call)
    {
        var (ids, header) = await member.ReadAsync(false, store => (store.Leases.All().Select(l => l.Id).ToList(), member.Header()),
            call.CancellationToken).ConfigureAwait(false);
        var response = new Pb.LeaseLeasesResponse { Header = header };
        response.Leases.AddRange(ids.Select(id => new Pb.LeaseStatus { ID = id }));
        return response;
    }
}
