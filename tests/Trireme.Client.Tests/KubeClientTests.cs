// Proves the Kubernetes client against an in-process Kestrel fake of the Endpoints API: a kubeconfig
// with inline CA/cert/key data, file references and a token loads into the right credentials; GET and
// LIST decode; a WATCH delivers events in order; the ListWatcher resumes a dropped watch from the last
// resourceVersion it saw (no relist) and lists again after 410 Gone. Waits poll with deadlines.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trireme.Client.Tests;

public sealed class KubeClientTests
{
    private static Kubeconfig PlainConfig(FakeApiServer fake) => new(fake.BaseAddress, null, false, null, "tok-123");

    [Fact]
    public async Task Get_and_list_decode_endpoints_and_send_the_bearer_token()
    {
        await using var fake = await FakeApiServer.StartAsync();
        fake.Put("kubernetes", ("127.0.0.11", 6443), ("127.0.0.12", 6443));
        using var client = new KubeClient(PlainConfig(fake));
        var one = await client.GetAsync<Endpoints>("/api/v1/namespaces/default/endpoints/kubernetes", default);
        Assert.Equal(["127.0.0.11", "127.0.0.12"], one.Subsets![0].Addresses!.Select(a => a.Ip));
        Assert.Equal(6443, one.Subsets[0].Ports![0].Port);
        Assert.Equal("Bearer tok-123", fake.LastAuthorization);

        var list = await client.ListAsync<Endpoints>("/api/v1/namespaces/default/endpoints", null, default);
        Assert.Single(list.Items);
        Assert.Equal("101", list.Metadata.ResourceVersion);

        var missing = await Assert.ThrowsAsync<KubeApiException>(() =>
            client.GetAsync<Endpoints>("/api/v1/namespaces/default/endpoints/nope", default));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.Status);
        Assert.Contains("not found", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_streams_events_from_a_resource_version()
    {
        await using var fake = await FakeApiServer.StartAsync();
        var rv = fake.Put("kubernetes", ("127.0.0.11", 6443));
        fake.Put("kubernetes", ("127.0.0.11", 6443), ("127.0.0.12", 6443));
        using var client = new KubeClient(PlainConfig(fake));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<string>();
        await foreach (var evt in client.WatchAsync<Endpoints>("/api/v1/namespaces/default/endpoints", null, (rv - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), cts.Token))
        {
            var e = evt.As(KubeClient.Json)!;
            seen.Add($"{evt.Type}:{e.Metadata.ResourceVersion}:{e.Subsets![0].Addresses!.Count}");
            if (seen.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["ADDED:101:1", "MODIFIED:102:2"], seen);
    }

    [Fact]
    public async Task ListWatcher_resumes_after_a_dropped_watch_and_relists_after_410()
    {
        await using var fake = await FakeApiServer.StartAsync();
        fake.Put("kubernetes", ("127.0.0.11", 6443));
        using var client = new KubeClient(PlainConfig(fake));
        var watcher = new ListWatcher<Endpoints>(client, "/api/v1/namespaces/default/endpoints", "fieldSelector=metadata.name%3Dkubernetes",
            (_, e) => e.Metadata.ResourceVersion);
        var current = 0;
        var snapshots = 0;
        using var cts = new CancellationTokenSource();
        var run = watcher.RunAsync(
            items => { snapshots++; Volatile.Write(ref current, items.Sum(i => i.Subsets![0].Addresses!.Count)); },
            (_, e) => Volatile.Write(ref current, e.Subsets![0].Addresses!.Count),
            TimeSpan.FromMilliseconds(50), cts.Token);

        await Until(() => Volatile.Read(ref current) == 1 && watcher.Watches == 1);
        fake.Put("kubernetes", ("127.0.0.11", 6443), ("127.0.0.12", 6443));
        await Until(() => Volatile.Read(ref current) == 2);

        fake.DropWatches();
        fake.Put("kubernetes", ("127.0.0.11", 6443), ("127.0.0.12", 6443), ("127.0.0.13", 6443));
        await Until(() => Volatile.Read(ref current) == 3);
        Assert.Equal(1, watcher.Lists);

        fake.Compact();
        fake.DropWatches();
        fake.Put("kubernetes", ("127.0.0.11", 6443));
        await Until(() => watcher.Lists == 2 && Volatile.Read(ref current) == 1);
        Assert.Equal(2, snapshots);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public void Kubeconfig_loads_inline_data_files_and_tokens()
    {
        var dir = Directory.CreateTempSubdirectory("trireme-kubeconfig-").FullName;
        try
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caReq = new CertificateRequest("CN=test-ca", caKey, HashAlgorithmName.SHA256);
            caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var ca = caReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var clientReq = new CertificateRequest("CN=admin, O=system:masters", clientKey, HashAlgorithmName.SHA256);
            using var clientCert = clientReq.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);
            static string B64(string pem) => Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(pem));
            var caPem = ca.ExportCertificatePem();
            var certPem = clientCert.ExportCertificatePem();
            var keyPem = clientKey.ExportECPrivateKeyPem();
            File.WriteAllText(Path.Combine(dir, "ca.crt"), caPem);
            File.WriteAllText(Path.Combine(dir, "token"), "file-token\n");
            File.WriteAllText(Path.Combine(dir, "config"), $$"""
                apiVersion: v1
                kind: Config
                current-context: admin@trireme
                clusters:
                - name: trireme
                  cluster:
                    server: https://127.0.0.1:6443
                    certificate-authority-data: {{B64(caPem)}}
                - name: other
                  cluster:
                    server: https://127.0.0.2:6443
                    certificate-authority: ca.crt
                users:
                - name: admin
                  user:
                    client-certificate-data: {{B64(certPem)}}
                    client-key-data: {{B64(keyPem)}}
                - name: robot
                  user:
                    tokenFile: token
                contexts:
                - name: admin@trireme
                  context: { cluster: trireme, user: admin }
                - name: robot@other
                  context: { cluster: other, user: robot }
                """);
            var admin = Kubeconfig.Load(Path.Combine(dir, "config"));
            Assert.Equal(new Uri("https://127.0.0.1:6443"), admin.Server);
            Assert.Equal(ca.Thumbprint, Assert.Single(admin.CertificateAuthority!).Thumbprint);
            Assert.Equal(clientCert.Thumbprint, admin.ClientCertificate!.Thumbprint);
            Assert.True(admin.ClientCertificate.HasPrivateKey);
            Assert.Null(admin.BearerToken);

            var robot = Kubeconfig.Load(Path.Combine(dir, "config"), "robot@other");
            Assert.Equal("file-token", robot.BearerToken);
            Assert.Equal(ca.Thumbprint, Assert.Single(robot.CertificateAuthority!).Thumbprint);
            Assert.Throws<KubeconfigException>(() => Kubeconfig.Load(Path.Combine(dir, "config"), "nobody"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(20);
        }
    }
}
