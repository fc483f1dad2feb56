using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trireme.Pki;

/// <summary>PEM text for certificates and keys, in the file layout kubeadm uses (x.crt / x.key).</summary>
public static class Pem
{
    public static string Certificate(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    /// <summary>PKCS#8 "PRIVATE KEY": accepted by Go's tls.X509KeyPair, etcd and .NET alike.</summary>
    public static string PrivateKey(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey()
            ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("certificate has no private key", nameof(certificate));
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Writes name.crt and name.key into dir; the key file is readable by the owner only.</summary>
    public static void WritePair(string dir, string name, X509Certificate2 certificate)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, name + ".crt"), Certificate(certificate));
        var keyPath = Path.Combine(dir, name + ".key");
        File.WriteAllText(keyPath, PrivateKey(certificate));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
