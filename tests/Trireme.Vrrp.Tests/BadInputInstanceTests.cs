// Proves, on running instances (loopback mode, no root), that bad packets from the wire are dropped and
// counted by reason and never move the election: a v2 master and backup with auth_pass receive forged
// adverts that would make them flap if accepted — priority 255 to the master (it would yield), priority
// 0 to the backup (it would take over) — each spoiled in one way: TTL 254, a bad checksum, another VRID,
// v3 instead of v2, a wrong auth_pass, another interval, a truncated datagram. The proof is exact: every
// forged packet is counted under its own reason (so none was accepted) and no transition happened.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

public sealed class BadInputInstanceTests
{
    private const int CopiesPerKind = 5;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private static readonly Ipv4 MasterAddress = Ipv4.Parse("127.77.2.11");
    private static readonly Ipv4 BackupAddress = Ipv4.Parse("127.77.2.12");
    private static readonly Ipv4[] Vips = [Ipv4.Parse("127.77.2.100")];
    private static readonly byte[] Pass = VrrpConfig.AuthBytes("secret12");

    private delegate int Forge(byte[] buffer, Ipv4 from, Ipv4 to, byte priority);

    private static readonly (VrrpRejectReason Reason, Forge Forge)[] Kinds =
    [
        (VrrpRejectReason.TtlNot255, (b, f, t, p) => Mutated(b, V2(b, f, t, p), x => x[8] = 254)),
        (VrrpRejectReason.BadChecksum, (b, f, t, p) => Mutated(b, V2(b, f, t, p), x => x[26] ^= 0x21)),
        (VrrpRejectReason.OtherVirtualRouterId, (b, f, t, p) => V2(b, f, t, p, vrid: 52)),
        (VrrpRejectReason.BadVersion, (b, f, t, p) => VrrpPacketCodec.Encode(b, VrrpVersion.V3, 51, p, 1000, f, t, Vips)),
        (VrrpRejectReason.AuthFailed, (b, f, t, p) => V2(b, f, t, p, pass: VrrpConfig.AuthBytes("guessed!"))),
        (VrrpRejectReason.AdvertIntervalMismatch, (b, f, t, p) => V2(b, f, t, p, intervalTicks: 2000)),
        (VrrpRejectReason.TooShort, (b, f, t, p) => 12),
    ];

    [Fact]
    public async Task Forged_adverts_are_dropped_and_counted_by_reason_and_never_flap_the_election()
    {
        var port = FreeUdpPort();
        var transitions = new ConcurrentQueue<string>();
        var master = NewInstance("bad1", 150, MasterAddress, BackupAddress, port, transitions);
        var backup = NewInstance("bad2", 100, BackupAddress, MasterAddress, port, transitions);
        var stops = new[] { new CancellationTokenSource(), new CancellationTokenSource() };
        var runs = new[] { Task.Run(() => master.RunAsync(stops[0].Token), TestContext.Current.CancellationToken), Task.Run(() => backup.RunAsync(stops[1].Token), TestContext.Current.CancellationToken) };
        try
        {
            await WaitFor(() => master.State == VrrpState.Master && backup.State == VrrpState.Backup, "bad1 master, bad2 backup", transitions);
            var settled = transitions.Count;

            // As the backup, claim priority 255 to the master; as the master, say goodbye to the backup.
            SendForged(from: BackupAddress, to: MasterAddress, port, priority: 255);
            SendForged(from: MasterAddress, to: BackupAddress, port, priority: 0);

            foreach (var (reason, _) in Kinds)
            {
                await WaitFor(() => master.Rejects[reason] == CopiesPerKind && backup.Rejects[reason] == CopiesPerKind,
                    $"{CopiesPerKind} x {reason} counted by both", transitions);
            }

            Assert.Equal(VrrpState.Master, master.State);
            Assert.Equal(VrrpState.Backup, backup.State);
            Assert.Equal(settled, transitions.Count);
            Assert.Equal(Kinds.Length * CopiesPerKind, master.Rejects.Total - master.Rejects[VrrpRejectReason.OwnPacket]);
        }
        finally
        {
            foreach (var stop in stops)
            {
                await stop.CancelAsync();
            }

            await Task.WhenAll(runs);
            master.Dispose();
            backup.Dispose();
        }
    }

    private static VrrpInstance NewInstance(string name, int priority, Ipv4 self, Ipv4 peer, int port, ConcurrentQueue<string> transitions)
    {
        var instance = new VrrpInstance(VrrpConfigLoader.Parse($"""
            mode: loopback
            name: {name}
            virtualRouterId: 51
            priority: {priority}
            version: 2
            advertInterval: 1
            authPass: secret12
            sourceIp: {self}
            unicastPeers: [{peer}]
            loopbackPort: {port}
            virtualIps: [{Vips[0]}]
            """));
        instance.StateChanged += t => transitions.Enqueue($"{name} {t.From}->{t.To} {t.Reason} at {t.AtTick}");
        return instance;
    }

    /// <summary>The loopback transport only takes datagrams whose header names the UDP sender, so the
    /// forger binds the address it impersonates (on another port).</summary>
    private static void SendForged(Ipv4 from, Ipv4 to, int port, byte priority)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from.ToString()), 0));
        var target = new IPEndPoint(IPAddress.Parse(to.ToString()), port);
        var buffer = new byte[VrrpPacketCodec.MaxPacketBytes];
        foreach (var (_, forge) in Kinds)
        {
            for (var copy = 0; copy < CopiesPerKind; copy++)
            {
                var n = forge(buffer, from, to, priority);
                socket.SendTo(buffer.AsSpan(0, n), SocketFlags.None, target);
            }
        }
    }

    private static int V2(byte[] buffer, Ipv4 from, Ipv4 to, byte priority, byte vrid = 51, byte[]? pass = null, int intervalTicks = 1000) =>
        VrrpPacketCodec.Encode(buffer, VrrpVersion.V2, vrid, priority, intervalTicks, from, to, Vips, VrrpAuthType.SimpleText, pass ?? Pass);

    private static int Mutated(byte[] buffer, int length, Action<byte[]> mutate)
    {
        mutate(buffer);
        return length;
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Parse(MasterAddress.ToString()), 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task WaitFor(Func<bool> condition, string what, IEnumerable<string> history)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}\n{string.Join("\n", history)}");
            await Task.Delay(20, TestContext.Current.CancellationToken); // polling interval
        }
    }
}
