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
        var dir = Directory.CreateTempSubdirectory("trv-loopback-");
        var notifyLog = Path.Combine(dir.FullName, "notify.log");
        var notify = Path.Combine(dir.FullName, "notify.sh");
        File.WriteAllText(notify, $"#!/bin/sh\necho \"$@\" >> {notifyLog}\n");
        var held = new ConcurrentDictionary<int, bool>();
        var history = new ConcurrentQueue<string>();
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
                notify: /bin/sh {notify}
                """);
            var instance = new VrrpInstance(config);
            var index = i;
            instance.VipChanged += (_, isHeld) => held[index] = isHeld;
            instance.StateChanged += t => history.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} dev{index + 1} {t.From}->{t.To} {t.Reason} at {t.AtTick}");
            return instance;
        }).ToArray();

        var stops = instances.Select(_ => new CancellationTokenSource()).ToArray();
        var runs = instances.Select((x, i) => Task.Run(() => x.RunAsync(stops[i].Token))).ToArray();
        try
        {
            // Instances start in any order and the host is shared, so transient dual masters are allowed;
            // what must hold is where each election ends.
            await WaitFor(() => instances[0].State == VrrpState.Master && held.GetValueOrDefault(0)
                && instances.Skip(1).All(x => x.State == VrrpState.Backup) && !held.GetValueOrDefault(1)
                && !held.GetValueOrDefault(2), "r1 sole master", history);

            await stops[0].CancelAsync();
            await runs[0];
            Assert.False(held[0]); // the stopping master released the VIP before RunAsync returned
            await WaitFor(() => instances[1].State == VrrpState.Master && held.GetValueOrDefault(1)
                && instances[2].State == VrrpState.Backup && !held.GetValueOrDefault(2), "r2 sole master", history);
            Assert.Equal(0, instances[1].Rejects[VrrpRejectReason.BadChecksum]);

            // keepalived's notify arguments: INSTANCE name STATE priority.
            await WaitFor(() => File.Exists(notifyLog) && File.ReadAllText(notifyLog).Contains("INSTANCE dev2 MASTER 120", StringComparison.Ordinal), "notify", history);
            Assert.Contains("INSTANCE dev1 MASTER 150", File.ReadAllText(notifyLog), StringComparison.Ordinal);
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

            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Preparing_a_send_sends_nothing_and_the_send_after_it_arrives()
    {
        // The takeover warm-up readies the advert path at start; it must not put a packet on the wire.
        var port = FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Parse("127.77.1.12"), port));
        using var transport = new LoopbackVrrpTransport(Ipv4.Parse("127.77.1.11"), port);
        IVrrpTransport asInterface = transport;
        asInterface.Prepare(Ipv4.Parse("127.77.1.12"));
        Assert.False(peer.Poll(TimeSpan.FromMilliseconds(300), SelectMode.SelectRead), "Prepare sent a datagram");

        transport.Send([1, 2, 3], Ipv4.Parse("127.77.1.12"));
        Assert.True(peer.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead), "the datagram after Prepare never arrived");
        var buffer = new byte[16];
        Assert.Equal(3, peer.Receive(buffer));
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Parse("127.77.1.11"), 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task WaitFor(Func<bool> condition, string what, IEnumerable<string>? history = null)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}\n{string.Join("\n", history ?? [])}");
            await Task.Delay(20, TestContext.Current.CancellationToken); // polling interval
        }
    }
}
