// Proves the client's TLS options against real etcd 3.4 serving https with --client-cert-auth: the
// PEM files kube-apiserver's --etcd-cafile/--etcd-certfile/--etcd-keyfile name are loaded and used,
// and a client without a certificate is refused.
using Trireme.Grpc;
using Trireme.Testing;

namespace Trireme.Store.Client.Tests;

public sealed class TlsEtcdTests
{
    [Fact]
    public async Task Client_with_ca_cert_and_key_files_talks_to_etcd_with_client_cert_auth()
    {
        if (!EtcdCluster.IsAvailable)
        {
            Assert.Skip("etcd 3.4 (Debian etcd-server) is not installed");
        }

        await using var cluster = await EtcdCluster.StartAsync(1, tls: true);
        using var client = new EtcdClient(EtcdClientOptions.FromPemFiles(cluster.ClientUrls, cluster.CaFile, cluster.ClientCertFile, cluster.ClientKeyFile));
        await client.PutAsync("/tls/k", "v");
        Assert.Equal("v", (await client.GetAsync("/tls/k"))!.Value.ToStringUtf8());
        await using var watch = await client.WatchAsync("/tls/w");
        await client.PutAsync("/tls/w", "x");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.Equal("x", (await watch.Updates.ReadAsync(timeout.Token)).Events[0].Kv.Value.ToStringUtf8());

        using var anonymous = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = cluster.ClientUrls,
            CertificateAuthority = EtcdClientOptions.FromPemFiles(cluster.ClientUrls, cluster.CaFile, null, null).CertificateAuthority,
            RequestTimeout = TimeSpan.FromSeconds(5),
        });
        var error = await Assert.ThrowsAsync<GrpcException>(() => anonymous.GetAsync("/tls/k"));
        Assert.True(error.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded, error.ToString());
    }
}
