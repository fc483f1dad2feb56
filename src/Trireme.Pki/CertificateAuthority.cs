using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trireme.Pki;

/// <summary>
/// The cluster certificate authority. Keys are ECDSA P-256: Go's crypto/tls (kubectl, etcd) accepts
/// them, and they are generated in microseconds where RSA-2048 takes tens of milliseconds.
/// The instance owns the CA certificate (with its private key) and disposes it.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>kubeadm's CA lifetime (ten years); leaf certificates get one year, as kubeadm issues them.</summary>
    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3650);
    public static readonly TimeSpan LeafValidity = TimeSpan.FromDays(365);

    /// <summary>Backdating covers clock skew between the machine that issues and the one that verifies.</summary>
    private static readonly TimeSpan NotBeforeBackdate = TimeSpan.FromMinutes(5);

    private static readonly Oid ServerAuthOid = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthOid = new("1.3.6.1.5.5.7.3.2");

    public X509Certificate2 Certificate { get; }

    private CertificateAuthority(X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("a CA needs its private key to sign", nameof(certificate));
        }

        Certificate = certificate;
    }

    public static CertificateAuthority Create(string commonName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var certificate = request.CreateSelfSigned(now - NotBeforeBackdate, now + CaValidity);
        return new CertificateAuthority(certificate);
    }

    public static CertificateAuthority Load(string certificatePath, string keyPath) =>
        new(X509Certificate2.CreateFromPemFile(certificatePath, keyPath));

    /// <summary>A TLS server certificate; each SAN that parses as an IP becomes an IP SAN, the rest DNS names.</summary>
    public X509Certificate2 IssueServing(string commonName, IEnumerable<string> subjectAltNames, DateTimeOffset now)
    {
        var sans = new SubjectAlternativeNameBuilder();
        foreach (var san in subjectAltNames.Distinct(StringComparer.Ordinal))
        {
            if (IPAddress.TryParse(san, out var ip))
            {
                sans.AddIpAddress(ip);
            }
            else
            {
                sans.AddDnsName(san);
            }
        }

        return Issue(new X500DistinguishedName($"CN={commonName}"), [ServerAuthOid, ClientAuthOid], sans.Build(), now);
    }

    /// <summary>
    /// A client certificate as Kubernetes reads it: CN is the user name, each O is a group
    /// (so O=system:masters makes a superuser).
    /// </summary>
    public X509Certificate2 IssueClient(string user, IEnumerable<string> groups, DateTimeOffset now)
    {
        var subject = new X500DistinguishedNameBuilder();
        foreach (var group in groups)
        {
            subject.AddOrganizationName(group);
        }

        subject.AddCommonName(user);
        return Issue(subject.Build(), [ClientAuthOid], null, now);
    }

    private X509Certificate2 Issue(X500DistinguishedName subject, Oid[] usages, X509Extension? sans, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var oids = new OidCollection();
        foreach (var usage in usages)
        {
            oids.Add(usage);
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        if (sans is not null)
        {
            request.CertificateExtensions.Add(sans);
        }

        var notAfter = now + LeafValidity;
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial, as RFC 5280 requires
        using var signed = request.Create(Certificate, now - NotBeforeBackdate, notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    public void Dispose() => Certificate.Dispose();
}
