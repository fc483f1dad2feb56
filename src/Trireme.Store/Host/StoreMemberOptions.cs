using System.Net;
using Trireme.Store.Transport;

namespace Trireme.Store.Host;

public sealed record StoreMemberOptions
{
    public required string Name { get; init; }
    public required string DataDir { get; init; }
    public required string ClusterToken { get; init; }

    /// <summary>Every member of <c>--initial-cluster</c> (this one included), ids derived from peer URLs.</summary>
    public required IReadOnlyList<MemberInfo> InitialMembers { get; init; }

    /// <summary><c>--initial-cluster-state new</c>: bootstrap from InitialMembers; else join an existing cluster.</summary>
    public bool NewCluster { get; init; } = true;

    public required IPEndPoint PeerListen { get; init; }
    public IReadOnlyList<string> AdvertiseClientUrls { get; init; } = [];
    public PeerTlsOptions? PeerTls { get; init; }

    /// <summary>etcd's --heartbeat-interval (ms): one Raft tick.</summary>
    public int HeartbeatMilliseconds { get; init; } = 100;

    /// <summary>etcd's --election-timeout (ms); ElectionTicks = election / heartbeat.</summary>
    public int ElectionMilliseconds { get; init; } = 1000;

    /// <summary>etcd's --snapshot-count: applied entries between snapshots, etcd 3.4's default. Each
    /// snapshot is the whole store (captured on the loop, encoded and written in the background: tens to
    /// hundreds of MB with a long history), so snapshots are kept as rare as etcd's, and rarer for a large
    /// state (<see cref="SnapshotPolicy"/>); the price is a longer in-memory log and WAL replay on restart.</summary>
    public const ulong DefaultSnapshotCount = 100_000;

    public ulong SnapshotCount { get; init; } = DefaultSnapshotCount;

    /// <summary>Entries kept behind a snapshot so slightly slow followers catch up from the log (etcd: 5,000).</summary>
    public ulong SnapshotCatchUpEntries { get; init; } = 5_000;

    /// <summary>etcd's --quota-backend-bytes.</summary>
    public long QuotaBytes { get; init; } = Trireme.Store.Core.StoreOptions.DefaultQuotaBytes;

    /// <summary>How long a proposal or linearizable read waits before "request timed out" (etcd: ~7 s).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(7);

    /// <summary>Derived (a SHA-256) on every read: callers keep the value (<see cref="StoreMember.Id"/>).</summary>
    public ulong MemberId => MemberIdentity.MemberId(Self.PeerUrls, ClusterToken);
    public ulong ClusterId => MemberIdentity.ClusterId(ClusterToken);

    public MemberInfo Self => InitialMembers.First(m => m.Name == Name);

    public int ElectionTicks => Math.Max(2, ElectionMilliseconds / HeartbeatMilliseconds);
}
