using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Testing;

namespace Trireme.Store.Tests;

/// <summary>An in-process single-member store (a StoreServer, so tests can read its member and
/// counters), started through the same flag parsing as <c>trireme store</c>, serving once it leads.</summary>
internal static class SingleMember
{
    public static async Task<(StoreServer Server, Uri Url)> StartAsync(TempDir dir)
    {
        var clientPort = FreePort.Get(IPAddress.Loopback);
        var peerPort = FreePort.Get(IPAddress.Loopback);
        var (options, listen, tls) = StoreProcess.Build(new StoreFlags
        {
            Name = "s1",
            DataDir = dir.Sub("s1"),
            ListenClientUrls = $"http://127.0.0.1:{clientPort}",
            ListenPeerUrls = $"http://127.0.0.1:{peerPort}",
            InitialCluster = $"s1=http://127.0.0.1:{peerPort}",
            InitialClusterToken = "single-" + Guid.NewGuid().ToString("N")[..8],
        });
        var server = await StoreServer.StartAsync(options, listen, tls, NullLoggerFactory.Instance);
        var url = new Uri($"http://127.0.0.1:{clientPort}");
        await Poll.UntilAsync(async () => (await TriremeStoreCluster.StatusAsync(url)).Leader != 0, TimeSpan.FromSeconds(60), "single member to lead");
        return (server, url);
    }
}
