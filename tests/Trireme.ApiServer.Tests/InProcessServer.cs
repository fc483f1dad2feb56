// A real API server host (Kestrel, TLS, client certificates) in the test process over the in-memory
// store, with HttpClients for the admin (system:masters), an unprivileged user, and nobody.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Trireme.ApiServer.Storage;
using Trireme.Pki;

namespace Trireme.ApiServer.Tests;

public sealed class InProcessServer : IAsyncDisposable
{
    private readonly string _dir;

    public ApiServerHost Host { get; }
    public IKeyValueStore Store { get; }
    public HttpClient Admin { get; }
    public HttpClient Anonymous { get; }
    public HttpClient Bob { get; }

    private InProcessServer(string dir, ApiServerHost host, IKeyValueStore store, HttpClient admin, HttpClient anonymous, HttpClient bob)
    {
        _dir = dir;
        Host = host;
        Store = store;
        Admin = admin;
        Anonymous = anonymous;
        Bob = bob;
    }

    public static async Task<InProcessServer> StartAsync(Action<ApiServerOptions>? configure = null, IKeyValueStore? store = null)
    {
        var dir = Directory.CreateTempSubdirectory("trireme-apiserver-").FullName;
        var now = DateTimeOffset.UtcNow;
        ClusterPki.Init(dir, [], "https://127.0.0.1:0", now);
        var options = new ApiServerOptions
        {
            BindAddress = IPAddress.Loopback,
            SecurePort = 0,
            TlsCertFile = Path.Combine(dir, "apiserver.crt"),
            TlsPrivateKeyFile = Path.Combine(dir, "apiserver.key"),
            ClientCaFile = Path.Combine(dir, "ca.crt"),
        };
        configure?.Invoke(options);
        store ??= new MemoryKeyValueStore();
        var host = await ApiServerHost.StartAsync(options, store, null, null, CancellationToken.None);
        using var ca = CertificateAuthority.Load(Path.Combine(dir, "ca.crt"), Path.Combine(dir, "ca.key"));
        var admin = X509Certificate2.CreateFromPemFile(Path.Combine(dir, "admin.crt"), Path.Combine(dir, "admin.key"));
        var bob = ca.IssueClient("bob", ["devs"], now);
        var caCert = X509CertificateLoader.LoadCertificate(ca.Certificate.RawData);
        return new InProcessServer(dir, host, store, Client(host, caCert, admin), Client(host, caCert, null), Client(host, caCert, bob));
    }

    private static HttpClient Client(ApiServerHost host, X509Certificate2 ca, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is X509Certificate2 c && chain.Build(c);
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        return new HttpClient(handler) { BaseAddress = new Uri(host.Url), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        Anonymous.Dispose();
        Bob.Dispose();
        await Host.DisposeAsync();
        await Store.DisposeAsync();
        Directory.Delete(_dir, true);
    }
}
