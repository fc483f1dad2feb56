using System.Collections.Concurrent;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Store.Core;
using Trireme.Store.Host;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Services;

/// <summary>
/// KeepAlive is decided by the leader's lease clock (not through the log, as in etcd). A follower that
/// receives one forwards it to the leader's client URL over gRPC, as etcd's follower forwards lease
/// renewals over HTTP to the leader.
/// </summary>
internal static class LeaseForwarding
{
    private static readonly ConcurrentDictionary<string, GrpcChannel> _channels = new();

    /// <summary>TLS settings for forwarded calls (the member's own client certificate and CA), set by the server.</summary>
    public static GrpcChannelOptions ChannelOptions { get; set; } = new();

    /// <summary>Returns the TTL (0 = lease not found).</summary>
    public static async Task<long> RenewAsync(StoreMember member, long leaseId, CancellationToken cancellationToken)
    {
        var (ttl, error) = await member.RenewLeaseAsync(leaseId).ConfigureAwait(false);
        if (error is null)
        {
            return ttl;
        }

        if (error != StoreError.NotPrimary)
        {
            return 0;
        }

        var leader = member.Leader;
        var members = await member.MembersAsync().ConfigureAwait(false);
        var url = members.FirstOrDefault(m => m.Id == leader)?.ClientUrls.FirstOrDefault();
        if (leader == 0 || leader == member.Id || url is null)
        {
            throw EtcdErrors.NoLeader.ToException();
        }

        var channel = _channels.GetOrAdd(url, u => new GrpcChannel(new Uri(u), ChannelOptions));
        await using var call = channel.Duplex<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse>(
            EtcdMethods.LeaseKeepAlive, Pb.LeaseKeepAliveResponse.Parser,
            new CallOptions(TimeSpan.FromSeconds(5), cancellationToken));
        await call.WriteAsync(new Pb.LeaseKeepAliveRequest { ID = leaseId }, cancellationToken).ConfigureAwait(false);
        await call.CompleteRequestsAsync(cancellationToken).ConfigureAwait(false);
        var response = await call.ReadAsync(cancellationToken).ConfigureAwait(false);
        return response?.TTL ?? 0;
    }
}
