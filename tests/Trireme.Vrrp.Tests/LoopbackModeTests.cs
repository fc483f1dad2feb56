// Proves dev mode ("loopback VIP", no root): three in-process instances exchange adverts as UDP on
// 127.77.1.x, run the same core, elect the highest priority, and only the master raises VipChanged(held)
// — the event the balancer uses to bind its frontend on the VIP. A graceful stop hands the VIP over.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

public sealed class LoopbackModeTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Loopback_instances_elect_the_highest_priority_and_hand_over_on_graceful_stop()
    {
        var port = FreeUdpPort();
        var held = new ConcurrentDictionary<int, bool>();
        var instances = new[] { 150, 120, 100 }.Select((priority, i) =>
        {
            var self = $"127.77.1.{11 + i}";
            var peers = string.Join(", ", Enumerable.Range(0, 3).Where(j => j != i).Select(j => $"127.77.1.{11 + j}"));
            var config = VrrpConfigLoader.Parse($"""
                mode: loopback
                name: dev{i + 1}
                virtualRouterId: 51
                priority: {priority}
                advertInterval: 0.3
                sourceIp: {self}
                unicastPeers: [{peers}]
                loopbackPort: {port}
                virtualIps: [127.77.1.100]
                """);
            var instance = new VrrpInstance(config);
            var index = i;
            instance.VipChanged += (_, isHeld) => held[index] = isHeld;
            return instance;
        }).ToArray();

        var stops = instances.Select(_ => new CancellationTokenSource()).ToArray();
        var runs = instances.Select((x, i) => Task.Run(() => x.RunAsync(stops[i].Token))).ToArray();
        try
        {
            await WaitFor(() => instances[0].State == VrrpState.Master && held.GetValueOrDefault(0), "r1 master");
            Assert.All(instances.Skip(1), x => Assert.Equal(VrrpState.Backup, x.State));
            Assert.False(held.GetValueOrDefault(1));

            await stops[0].CancelAsync();
            await runs[0];
            Assert.False(held[0]); // the stopping master released the VIP
            await WaitFor(() => instances[1].State == VrrpState.Master && held.GetValueOrDefault(1), "r2 master");
            Assert.Equal(VrrpState.Backup, instances[2].State);
            Assert.Equal(0, instances[1].Rejects[VrrpRejectReason.BadChecksum]);
        }
        finally
        {
            foreach (var stop in stops)
            {
                await stop.CancelAsync();
            }

            await Task.WhenAll(runs);
            foreach (var instance in instances)
            {
                instance.Dispose();
            }
        }
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Parse("127.77.1.11"), 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20, TestContext.Current.CancellationToken); // polling interval
        }
    }
}
