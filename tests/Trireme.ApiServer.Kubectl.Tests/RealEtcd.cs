// One real etcd 3.4 member on free loopback ports for the kubectl tests. (Trireme.Testing's
// EtcdCluster writes --initial-cluster with a trailing '/', which etcd 3.4 refuses; until that is
// fixed in the grpc branch this single-member starter avoids the flag.)
using System.Globalization;
using System.Net;
using Trireme.Testing;

namespace Trireme.ApiServer.Kubectl.Tests;

public sealed class RealEtcd : IDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDirectory _data = new("trireme-etcd");

    public string ClientUrl { get; }

    public string OutputTail => _process.OutputTail;

    private RealEtcd()
    {
        var client = FreePort.Get(IPAddress.Loopback);
        var peer = FreePort.Get(IPAddress.Loopback);
        ClientUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{client}");
        var peerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peer}");
        _process = ChildProcess.Start(EtcdCluster.EtcdPath!,
        [
            "--name", "m0", "--data-dir", _data.Path,
            "--listen-client-urls", ClientUrl, "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", $"m0={peerUrl}",
        ]);
    }

    public static async Task<RealEtcd> StartAsync()
    {
        var etcd = new RealEtcd();
        using var http = new HttpClient();
        await Poll.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetStringAsync(etcd.ClientUrl + "/health")).Contains("true", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"etcd healthy: {etcd.OutputTail}");
        return etcd;
    }

    public void Dispose()
    {
        _process.Dispose();
        _data.Dispose();
    }
}
