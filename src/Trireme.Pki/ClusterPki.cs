namespace Trireme.Pki;

/// <summary>
/// What `trireme pki init` lays down in one directory: ca.crt/ca.key, apiserver.crt/key (serving,
/// with the requested SANs plus the in-cluster names kube-apiserver's certificate carries), and
/// admin.conf (CN=kubernetes-admin, O=system:masters).
/// </summary>
public static class ClusterPki
{
    public const string AdminUser = "kubernetes-admin";
    public const string MastersGroup = "system:masters";

    /// <summary>The names every API server certificate carries (kubeadm adds the same).</summary>
    public static readonly string[] DefaultSans =
    [
        "localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local", "10.96.0.1",
    ];

    public static void Init(string dir, IEnumerable<string> extraSans, string server, DateTimeOffset now)
    {
        Directory.CreateDirectory(dir);
        var caCrt = Path.Combine(dir, "ca.crt");
        var caKey = Path.Combine(dir, "ca.key");
        // An existing CA is reused so that re-running init adds SANs without invalidating clients.
        using var ca = File.Exists(caCrt) && File.Exists(caKey)
            ? CertificateAuthority.Load(caCrt, caKey)
            : CertificateAuthority.Create("kubernetes", now);
        if (!File.Exists(caCrt))
        {
            Pem.WritePair(dir, "ca", ca.Certificate);
        }

        using var serving = ca.IssueServing("kube-apiserver", DefaultSans.Concat(extraSans), now);
        Pem.WritePair(dir, "apiserver", serving);
        using var admin = ca.IssueClient(AdminUser, [MastersGroup], now);
        Pem.WritePair(dir, "admin", admin);
        File.WriteAllText(Path.Combine(dir, "admin.conf"),
            Kubeconfig.ForClientCertificate("trireme", server, ca.Certificate, AdminUser, admin));
    }
}
