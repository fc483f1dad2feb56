namespace Trireme.Store.Api;

/// <summary>
/// The gRPC method paths of the etcd v3 API ("/package.Service/Method"), one constant per rpc in
/// Protos/etcdserverpb/rpc.proto, shared by the server router and the client so neither spells them.
/// </summary>
public static class EtcdMethods
{
    public const string KVRange = "/etcdserverpb.KV/Range";
    public const string KVPut = "/etcdserverpb.KV/Put";
    public const string KVDeleteRange = "/etcdserverpb.KV/DeleteRange";
    public const string KVTxn = "/etcdserverpb.KV/Txn";
    public const string KVCompact = "/etcdserverpb.KV/Compact";

    public const string Watch = "/etcdserverpb.Watch/Watch";

    public const string LeaseGrant = "/etcdserverpb.Lease/LeaseGrant";
    public const string LeaseRevoke = "/etcdserverpb.Lease/LeaseRevoke";
    public const string LeaseKeepAlive = "/etcdserverpb.Lease/LeaseKeepAlive";
    public const string LeaseTimeToLive = "/etcdserverpb.Lease/LeaseTimeToLive";
    public const string LeaseLeases = "/etcdserverpb.Lease/LeaseLeases";

    public const string MemberAdd = "/etcdserverpb.Cluster/MemberAdd";
    public const string MemberRemove = "/etcdserverpb.Cluster/MemberRemove";
    public const string MemberUpdate = "/etcdserverpb.Cluster/MemberUpdate";
    public const string MemberList = "/etcdserverpb.Cluster/MemberList";
    public const string MemberPromote = "/etcdserverpb.Cluster/MemberPromote";

    public const string Alarm = "/etcdserverpb.Maintenance/Alarm";
    public const string Status = "/etcdserverpb.Maintenance/Status";
    public const string Defragment = "/etcdserverpb.Maintenance/Defragment";
    public const string Hash = "/etcdserverpb.Maintenance/Hash";
    public const string HashKV = "/etcdserverpb.Maintenance/HashKV";
    public const string Snapshot = "/etcdserverpb.Maintenance/Snapshot";
    public const string MoveLeader = "/etcdserverpb.Maintenance/MoveLeader";
}
