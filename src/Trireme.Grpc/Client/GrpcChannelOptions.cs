using System.Security.Cryptography.X509Certificates;

namespace Trireme.Grpc.Client;

/// <summary>How a <see cref="GrpcChannel"/> connects; each limit named with its reason.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted; more ends the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; init; } = int.MaxValue;

    /// <summary>Largest request message sent; more fails locally with RESOURCE_EXHAUSTED before sending.</summary>
    public int MaxSendMessageBytes { get; init; } = GrpcProtocol.DefaultMaxSendMessageBytes;

    /// <summary>Trust only this CA for the server certificate (etcd's --cacert); null: the system store.</summary>
    public X509Certificate2? CertificateAuthority { get; init; }

    /// <summary>Client certificate with private key for mutual TLS (etcd's --cert/--key).</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>TCP + TLS connect time limit: an unreachable member must fail fast so failover can move on.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Idle time before an HTTP/2 PING checks that the connection is alive (etcd clients use 10 s+).
    /// Pings only go out while calls are active: etcd's server rejects idle pings (too_many_pings).
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a PING may go unanswered before the connection is declared dead.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);
}
