using Trireme.Grpc;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client;

// Lease service.
public sealed partial class EtcdClient
{
    /// <summary>Grants a key lease of <paramref name="ttlSeconds"/>; <paramref name="id"/> 0 lets the server choose.</summary>
    public Task<LeaseGrantResponse> LeaseGrantAsync(long ttlSeconds, long id = 0, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.LeaseGrant, new LeaseGrantRequest { TTL = ttlSeconds, ID = id }, LeaseGrantResponse.Parser, idempotent: false, cancellationToken);

    public Task<LeaseRevokeResponse> LeaseRevokeAsync(long id, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.LeaseRevoke, new LeaseRevokeRequest { ID = id }, LeaseRevokeResponse.Parser, idempotent: true, cancellationToken);

    /// <summary>Remaining TTL (-1 when expired or unknown) and, with <paramref name="keys"/>, the attached keys.</summary>
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(long id, bool keys = false, CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.LeaseTimeToLive, new LeaseTimeToLiveRequest { ID = id, Keys = keys }, LeaseTimeToLiveResponse.Parser, idempotent: true, cancellationToken);

    public Task<LeaseLeasesResponse> LeaseLeasesAsync(CancellationToken cancellationToken = default) =>
        CallAsync(EtcdMethods.LeaseLeases, new LeaseLeasesRequest(), LeaseLeasesResponse.Parser, idempotent: true, cancellationToken);

    /// <summary>
    /// Renews a lease once over a short-lived LeaseKeepAlive stream; returns the new TTL, or throws
    /// NOT_FOUND with etcd's "requested lease not found" when the lease is gone (TTL 0 from etcd).
    /// </summary>
    public async Task<LeaseKeepAliveResponse> LeaseKeepAliveOnceAsync(long id, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.RequestTimeout);
        await using var call = Channel(CurrentIndex).Duplex<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
            EtcdMethods.LeaseKeepAlive, LeaseKeepAliveResponse.Parser, new Grpc.Client.CallOptions(CancellationToken: timeout.Token));
        await call.WriteAsync(new LeaseKeepAliveRequest { ID = id }, timeout.Token).ConfigureAwait(false);
        LeaseKeepAliveResponse response = await call.ReadAsync(timeout.Token).ConfigureAwait(false)
            ?? throw new GrpcException(StatusCode.Unavailable, "lease keep-alive stream ended without a response");
        if (response.TTL <= 0)
        {
            throw EtcdErrors.LeaseNotFound.ToException();
        }

        return response;
    }

    /// <summary>
    /// Keeps a lease alive in the background (a LeaseKeepAlive stream, renewing every TTL/3, moving to
    /// another endpoint when the stream breaks) until disposed or the lease is gone.
    /// </summary>
    public LeaseKeepAlive KeepAlive(long id, long ttlSeconds) => new(this, id, ttlSeconds);
}
