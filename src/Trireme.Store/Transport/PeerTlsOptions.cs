using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Trireme.Store.Transport;

/// <summary>
/// Mutual TLS between members: each side presents its member certificate and accepts only a peer whose
/// certificate chains to the cluster CA (<c>--peer-trusted-ca-file</c>). Host names are not checked:
/// members are identified by the cluster-id/member-id handshake that follows, inside the tunnel.
/// </summary>
public sealed class PeerTlsOptions
{
    public required X509Certificate2 Certificate { get; init; }

    public required X509Certificate2Collection TrustedCa { get; init; }

    /// <summary>Loads PEM files the way etcd's --peer-cert-file/--peer-key-file/--peer-trusted-ca-file name them.</summary>
    public static PeerTlsOptions FromPemFiles(string certFile, string keyFile, string trustedCaFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        // Re-import so the private key is usable by SslStream on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(trustedCaFile);
        return new PeerTlsOptions { Certificate = certificate, TrustedCa = ca };
    }

    public bool Validate(X509Certificate? presented)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(TrustedCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var certificate = new X509Certificate2(presented);
        return chain.Build(certificate);
    }

    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificate = Certificate,
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = (_, cert, _, _) => Validate(cert),
    };

    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "trireme-peer",
        ClientCertificates = [Certificate],
        RemoteCertificateValidationCallback = (_, cert, _, _) => Validate(cert),
    };
}
