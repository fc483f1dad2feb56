using Trireme.Testing;

namespace Trireme.Store.Client.Tests;

/// <summary>One real etcd 3.4 member shared by the tests of a class (each test uses its own key prefix).</summary>
public sealed class SingleEtcdFixture : IAsyncLifetime
{
    public EtcdCluster? Cluster { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (EtcdCluster.IsAvailable)
        {
            Cluster = await EtcdCluster.StartAsync(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }

    public EtcdCluster Require()
    {
        if (Cluster is null)
        {
            Assert.Skip("etcd 3.4 (Debian etcd-server) is not installed");
        }

        return Cluster;
    }
}
