using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client;

// Cluster and Maintenance services.
public sealed partial class EtcdClient
{
    public Task<MemberListResponse> MemberListAsync(CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.MemberList, new MemberListRequest(), MemberListResponse.Parser, idempotent: true, cancellationToken);

    public Task<MemberAddResponse> MemberAddAsync(IEnumerable<string> peerUrls, bool isLearner = false, CancellationToken cancellationToken = default)
    {
        var request = new MemberAddRequest { IsLearner = isLearner };
        request.PeerURLs.Add(peerUrls);
        return CallAsync(EtcdMethods.MemberAdd, request, MemberAddResponse.Parser, idempotent: false, cancellationToken);
    }

    public Task<MemberRemoveResponse> MemberRemoveAsync(ulong memberId, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.MemberRemove, new MemberRemoveRequest { ID = memberId }, MemberRemoveResponse.Parser, idempotent: false, cancellationToken);

    public Task<MemberUpdateResponse> MemberUpdateAsync(ulong memberId, IEnumerable<string> peerUrls, CancellationToken cancellationToken = default)
    {
        var request = new MemberUpdateRequest { ID = memberId };
        request.PeerURLs.Add(peerUrls);
        return CallAsync(EtcdMethods.MemberUpdate, request, MemberUpdateResponse.Parser, idempotent: true, cancellationToken);
    }

    public Task<MemberPromoteResponse> MemberPromoteAsync(ulong memberId, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.MemberPromote, new MemberPromoteRequest { ID = memberId }, MemberPromoteResponse.Parser, idempotent: false, cancellationToken);

    /// <summary>Status of the current endpoint's member.</summary>
    public Task<StatusResponse> StatusAsync(CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.Status, new StatusRequest(), StatusResponse.Parser, idempotent: true, cancellationToken);

    /// <summary>Status of one member, asked at its own endpoint (etcdctl endpoint status).</summary>
    public Task<StatusResponse> StatusAsync(Uri endpoint, CancellationToken cancellationToken = default) =>
        CallEndpointAsync(endpoint, EtcdMethods.Status, new StatusRequest(), StatusResponse.Parser, cancellationToken);

    public Task<AlarmResponse> AlarmAsync(AlarmRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.Alarm, request, AlarmResponse.Parser, idempotent: request.Action == AlarmRequest.Types.AlarmAction.Get, cancellationToken);

    /// <summary>Active alarms of every member.</summary>
    public Task<AlarmResponse> AlarmListAsync(CancellationToken cancellationToken = default) =>
        AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get }, cancellationToken);

    public Task<HashKVResponse> HashKVAsync(Uri endpoint, long revision = 0, CancellationToken cancellationToken = default) =>
        CallEndpointAsync(endpoint, EtcdMethods.HashKV, new HashKVRequest { Revision = revision }, HashKVResponse.Parser, cancellationToken);

    public Task<HashResponse> HashAsync(Uri endpoint, CancellationToken cancellationToken = default) =>
        CallEndpointAsync(endpoint, EtcdMethods.Hash, new HashRequest(), HashResponse.Parser, cancellationToken);

    public Task<MoveLeaderResponse> MoveLeaderAsync(ulong targetMemberId, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.MoveLeader, new MoveLeaderRequest { TargetID = targetMemberId }, MoveLeaderResponse.Parser, idempotent: false, cancellationToken);

    /// <summary>MoveLeader must be sent to the current leader; this picks the endpoint explicitly.</summary>
    public Task<MoveLeaderResponse> MoveLeaderAsync(Uri leaderEndpoint, ulong targetMemberId, CancellationToken cancellationToken = default) =>
        CallEndpointAsync(leaderEndpoint, EtcdMethods.MoveLeader, new MoveLeaderRequest { TargetID = targetMemberId }, MoveLeaderResponse.Parser, cancellationToken);

    public Task<DefragmentResponse> DefragmentAsync(Uri endpoint, CancellationToken cancellationToken = default) =>
        CallEndpointAsync(endpoint, EtcdMethods.Defragment, new DefragmentRequest(), DefragmentResponse.Parser, cancellationToken);

    /// <summary>The backend snapshot as a stream of chunks from the current endpoint (no failover mid-stream).</summary>
    public IAsyncEnumerable<SnapshotResponse> SnapshotAsync(CancellationToken cancellationToken = default) =>
        Channel(CurrentIndex).ServerStreamingAsync(EtcdMethods.Snapshot, new SnapshotRequest(), SnapshotResponse.Parser, new Grpc.Client.CallOptions(CancellationToken: cancellationToken), cancellationToken);

    /// <summary>Writes the snapshot to <paramref name="destination"/>; returns the bytes written.</summary>
    public async Task<long> SnapshotToStreamAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        long written = 0;
        await foreach (SnapshotResponse chunk in SnapshotAsync(cancellationToken).ConfigureAwait(false))
        {
            await destination.WriteAsync(chunk.Blob.Memory, cancellationToken).ConfigureAwait(false);
            written += chunk.Blob.Length;
        }

        return written;
    }
}
