// Proves failover against a real 3-member etcd 3.4 cluster of processes: unary calls move to a live
// endpoint when the current member is killed (kill -9 by PID), and a watch resumes on another member
// from the revision after the last event it delivered — no event missed or repeated across the break.
using Trireme.Testing;

namespace Trireme.Store.Client.Tests;

public sealed class ClusterFailoverTests
{
    [Fact]
    public async Task Calls_and_watches_survive_the_loss_of_the_member_they_were_using()
    {
        if (!EtcdCluster.IsAvailable)
        {
            Assert.Skip("etcd 3.4 (Debian etcd-server) is not installed");
        }

        await using var cluster = await EtcdCluster.StartAsync(3);
        using var client = new EtcdClient(new EtcdClientOptions { Endpoints = cluster.ClientUrls, RequestTimeout = TimeSpan.FromSeconds(30) });
        Assert.Equal(3, (await client.MemberListAsync()).Members.Count);

        await using var watch = await client.WatchAsync("/f/", prefix: true);
        var seen = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            await client.PutAsync($"/f/{i:D3}", "v");
        }

        await CollectAsync(watch, seen, 5);

        // Kill the member the client (and its watch stream) is connected to.
        int current = cluster.ClientUrls.ToList().IndexOf(client.CurrentEndpoint);
        cluster.KillMember(current);

        for (int i = 5; i < 15; i++)
        {
            await CreateOnceAsync(client, $"/f/{i:D3}");
        }

        Assert.NotEqual(current, cluster.ClientUrls.ToList().IndexOf(client.CurrentEndpoint));
        await CollectAsync(watch, seen, 15);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => $"/f/{i:D3}"), seen);

        var range = await client.GetPrefixAsync("/f/");
        Assert.Equal(15, range.Count);
    }

    /// <summary>
    /// A write whose outcome is ambiguous ("request timed out" while the killed member was leader) is
    /// retried as create-if-absent, so it is applied exactly once — what a careful caller does.
    /// </summary>
    private static async Task CreateOnceAsync(EtcdClient client, string key)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                await client.Txn()
                    .If(EtcdCompare.CreateRevision(key, Trireme.Store.Api.Etcdserverpb.Compare.Types.CompareResult.Equal, 0))
                    .Then(EtcdOp.Put(key, "v"))
                    .CommitAsync();
                return;
            }
            catch (Trireme.Grpc.GrpcException e) when (e.StatusCode == Trireme.Grpc.StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private static async Task CollectAsync(EtcdWatch watch, List<string> seen, int total)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (seen.Count < total)
        {
            var update = await watch.Updates.ReadAsync(timeout.Token);
            Assert.Equal(WatchUpdateKind.Events, update.Kind);
            seen.AddRange(update.Events.Select(e => e.Kv.Key.ToStringUtf8()));
        }
    }
}
