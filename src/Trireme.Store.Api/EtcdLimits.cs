namespace Trireme.Store.Api;

/// <summary>Size limits etcd 3.4 applies to client requests, so Trireme rejects what etcd rejects.</summary>
public static class EtcdLimits
{
    /// <summary>etcd's --max-request-bytes default (1.5 MiB): larger requests get "request is too large".</summary>
    public const int MaxRequestBytes = 1536 * 1024;

    /// <summary>Room etcd leaves for gRPC framing and the other fields on top of the request limit.</summary>
    public const int GrpcOverheadBytes = 512 * 1024;

    /// <summary>The gRPC receive limit etcd configures: larger messages fail with RESOURCE_EXHAUSTED.</summary>
    public const int MaxReceiveMessageBytes = MaxRequestBytes + GrpcOverheadBytes;

    /// <summary>etcd's cap on operations in one txn (--max-txn-ops default).</summary>
    public const int MaxTxnOps = 128;
}
