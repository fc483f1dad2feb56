using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trireme.Testing;

/// <summary>
/// Throwaway certificates for TLS tests: a CA, server certificates for loopback addresses, client
/// certificates. ECDSA P-256, valid for a day. <see cref="WritePem"/> writes the files real tools
/// (etcd --cert-file/--key-file/--trusted-ca-file) read.
/// </summary>
public static class TestPki
{
    public static X509Certificate2 CreateAuthority(string name = "trireme-test-ca")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>A certificate usable as server and client (etcd members use one for both), for the given IPs and DNS names.</summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, string commonName, IEnumerable<IPAddress>? ips = null, IEnumerable<string>? dnsNames = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (IPAddress ip in ips ?? [])
        {
            san.AddIpAddress(ip);
        }

        foreach (string dns in dnsNames ?? [])
        {
            san.AddDnsName(dns);
        }

        request.CertificateExtensions.Add(san.Build());
        byte[] serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        using X509Certificate2 issued = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-30), DateTimeOffset.UtcNow.AddHours(20), serial);
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        // PKCS#12 round trip: SslStream on Linux wants a key it can export to OpenSSL.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes certificate (and key when present) as PEM; returns (certFile, keyFile).</summary>
    public static (string CertFile, string? KeyFile) WritePem(X509Certificate2 certificate, string directory, string name)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string certFile = Path.Combine(directory, name + ".crt");
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        if (certificate.GetECDsaPrivateKey() is not { } key)
        {
            return (certFile, null);
        }

        using (key)
        {
            string keyFile = Path.Combine(directory, name + ".key");
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
            return (certFile, keyFile);
        }
    }
}
