using System.Security.Cryptography.X509Certificates;

namespace Trireme.Store.Client;

/// <summary>How an <see cref="EtcdClient"/> reaches the cluster; defaults follow etcd's clientv3.</summary>
public sealed class EtcdClientOptions
{
    /// <summary>Client URLs of the members (http:// or https://); calls fail over between them.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>CA that signed the members' certificates (--etcd-cafile); null trusts the system store.</summary>
    public X509Certificate2? CertificateAuthority { get; init; }

    /// <summary>Client certificate with key for mutual TLS (--etcd-certfile/--etcd-keyfile).</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Deadline for one unary request including its retries on other endpoints.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>TCP/TLS connect limit per endpoint, so a dead member is skipped quickly.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>HTTP/2 keep-alive ping interval on busy connections (etcd's --keepalive-time is 10 s+).</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>clientv3's default send limit (2 MiB): above etcd's 1.5 MiB request limit, so etcd answers the error.</summary>
    public int MaxSendMessageBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>clientv3 accepts responses of any size up to 2 GiB; so does this client by default.</summary>
    public int MaxReceiveMessageBytes { get; init; } = int.MaxValue;

    /// <summary>Buffered responses per watcher before the shared watch stream waits for the consumer.</summary>
    public int WatchBufferResponses { get; init; } = 1024;

    /// <summary>Longest pause between reconnect attempts of a broken watch or keep-alive stream.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Loads the PEM files the kube-apiserver flags name (--etcd-cafile, --etcd-certfile,
    /// --etcd-keyfile); any may be null.
    /// </summary>
    public static EtcdClientOptions FromPemFiles(IReadOnlyList<Uri> endpoints, string? caFile, string? certFile, string? keyFile)
    {
        X509Certificate2? client = null;
        if (certFile is not null)
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // Re-import so the key is usable by SslStream on every platform.
            client = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }

        return new EtcdClientOptions
        {
            Endpoints = endpoints,
            CertificateAuthority = caFile is null ? null : X509CertificateLoader.LoadCertificateFromFile(caFile),
            ClientCertificate = client,
        };
    }
}
