// Proves the cluster PKI issues what Kubernetes clients rely on: a serving certificate that chains to
// the CA and carries the requested SANs, and a client certificate whose CN/O are user/groups.
// Method: issue in memory and check with X509Chain and the parsed extensions.
using System.Security.Cryptography.X509Certificates;
using Trireme.Pki;

namespace Trireme.ApiServer.Tests;

public sealed class PkiTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Serving_certificate_chains_to_the_ca_and_carries_ip_and_dns_sans()
    {
        using var ca = CertificateAuthority.Create("kubernetes", Now);
        using var serving = ca.IssueServing("kube-apiserver", ["127.0.0.9", "api.example"], Now);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = Now.UtcDateTime.AddMinutes(1);
        Assert.True(chain.Build(serving));
        var sans = serving.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("api.example", sans.EnumerateDnsNames());
        Assert.Contains(sans.EnumerateIPAddresses(), ip => ip.ToString() == "127.0.0.9");
    }

    [Fact]
    public void Client_certificate_names_user_in_cn_and_groups_in_o()
    {
        using var ca = CertificateAuthority.Create("kubernetes", Now);
        using var client = ca.IssueClient("alice", ["system:masters", "devs"], Now);
        Assert.Equal("alice", client.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Contains("O=system:masters", client.Subject, StringComparison.Ordinal);
        Assert.Contains("O=devs", client.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public void Init_writes_files_that_reload_and_a_kubeconfig_with_embedded_data()
    {
        var dir = Directory.CreateTempSubdirectory("trireme-pki-").FullName;
        try
        {
            ClusterPki.Init(dir, ["10.1.2.3"], "https://127.0.0.1:7443", Now);
            using var reloaded = CertificateAuthority.Load(Path.Combine(dir, "ca.crt"), Path.Combine(dir, "ca.key"));
            Assert.True(reloaded.Certificate.HasPrivateKey);
            var conf = File.ReadAllText(Path.Combine(dir, "admin.conf"));
            Assert.Contains("server: https://127.0.0.1:7443", conf, StringComparison.Ordinal);
            Assert.Contains("client-certificate-data: ", conf, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
