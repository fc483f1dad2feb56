// The network-namespace test bed (root only; skipped with the reason otherwise). Three routers and a
// client on a bridge, real `trireme vip` processes (and real keepalived 2.2.7 for interop), real raw
// sockets, netlink VIPs and gratuitous ARP. Proves: the VIP lands on the highest priority; kill -9 moves
// it and the client's neighbour table follows the GARP; a graceful stop hands over after Skew_Time, not
// Master_Down_Interval; preempt and nopreempt; a healed partition leaves one master; a failing tracked
// check moves the VIP; and mixed groups with keepalived (v2 auth_pass, v3) elect correctly both ways,
// seen from the client and in tcpdump on the bridge. All polls have generous deadlines (shared 2 cores).
namespace Trireme.Vrrp.Tests;

[Collection(nameof(NetnsBedTests))] // one bed at a time: they are heavy, and share nothing
public sealed class NetnsBedTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    internal static string TriremeYaml(int router, int priority, int version = 3, string interval = "0.5",
        bool preempt = true, string extra = "", string vips = $"{NetnsBed.Vip}/24") =>
        $"""
        name: vi{router}
        interface: eth0
        virtualRouterId: 51
        priority: {priority}
        advertInterval: {interval}
        version: {version}
        preempt: {(preempt ? "true" : "false")}
        virtualIps: [{vips}]
        {(version == 2 ? "authPass: secret12" : "")}
        {extra}
        """;

    internal static string KeepalivedConf(int router, int priority, int version, string interval, bool unicast = false) =>
        $$"""
        global_defs {
          router_id k{{router}}
        }
        vrrp_instance VI_1 {
          state BACKUP
          interface eth0
          virtual_router_id 51
          priority {{priority}}
          advert_int {{interval}}
          version {{version}}
          {{(version == 2 ? "authentication {\n    auth_type PASS\n    auth_pass secret12\n  }" : "")}}
          virtual_ipaddress {
            {{NetnsBed.Vip}}/24 dev eth0
          }
          {{(unicast ? UnicastBlock(router) : "")}}
        }
        """;

    private static string UnicastBlock(int router) =>
        $"unicast_src_ip {NetnsBed.RouterAddress(router)}\n  unicast_peer {{\n"
        + string.Concat(new[] { 1, 2, 3 }.Where(i => i != router).Select(i => $"    {NetnsBed.RouterAddress(i)}\n")) + "  }";

    private static string UnicastYaml(int router) =>
        $"sourceIp: {NetnsBed.RouterAddress(router)}\nunicastPeers: [{string.Join(", ", new[] { 1, 2, 3 }.Where(i => i != router).Select(NetnsBed.RouterAddress))}]";

    private static NetnsBed NewBed()
    {
        var skip = NetnsBed.SkipReason();
        if (skip is not null)
        {
            Assert.Skip(skip);
        }

        return new NetnsBed(3);
    }

    private static void WaitForSoleHolder(NetnsBed bed, int router, int[] alive, string vip = NetnsBed.Vip) =>
        NetnsBed.WaitFor(() => bed.VipHolders(alive, vip).SequenceEqual([router]), Generous,
            () => $"expected only r{router} to hold {vip}, holders: [{string.Join(',', bed.VipHolders(alive, vip))}]\n{bed.Logs()}");

    /// <summary>The client's neighbour entry for the VIP points at the router. A client that never spoke
    /// to the VIP has no entry (Linux's arp_accept=0 does not create one from a GARP), so it pings once
    /// first; after that only gratuitous ARPs move the entry.</summary>
    private static void WaitForClientOn(NetnsBed bed, int router, string vip = NetnsBed.Vip)
    {
        if (bed.ClientNeighbourMac(vip) is null)
        {
            bed.ClientPings(vip);
        }

        var mac = bed.Mac(router);
        NetnsBed.WaitFor(() => bed.ClientNeighbourMac(vip) == mac, Generous,
            () => $"client neighbour for {vip} is {bed.ClientNeighbourMac(vip)}, expected r{router} {mac}\n{bed.Logs()}");
    }

    [Fact]
    public void Vip_lands_on_highest_priority_and_kill_9_moves_it_and_the_clients_neighbour_entry()
    {
        // Two VIPs in one instance: both are added, announced and moved together.
        const string vips = $"{NetnsBed.Vip}/24, {NetnsBed.SecondVip}/24";
        using var bed = NewBed();
        var r1 = bed.StartTrireme(1, TriremeYaml(1, 150, vips: vips));
        bed.StartTrireme(2, TriremeYaml(2, 100, vips: vips));
        bed.StartTrireme(3, TriremeYaml(3, 100, vips: vips));
        foreach (var vip in new[] { NetnsBed.Vip, NetnsBed.SecondVip })
        {
            WaitForSoleHolder(bed, 1, [1, 2, 3], vip);
            Assert.True(bed.ClientPings(vip));
            WaitForClientOn(bed, 1, vip);
        }

        // kill -9 leaves the VIPs configured on r1 (as keepalived does); the GARP is what moves the client.
        r1.Kill();
        foreach (var vip in new[] { NetnsBed.Vip, NetnsBed.SecondVip })
        {
            WaitForSoleHolder(bed, 3, [2, 3], vip); // equal priorities: the higher primary address wins
            WaitForClientOn(bed, 3, vip);
            Assert.True(bed.ClientPings(vip));
        }
    }

    [Fact]
    public void Graceful_stop_sends_priority_zero_and_the_backup_takes_over_after_skew_time()
    {
        using var bed = NewBed();
        // advert 1 s: Master_Down_Interval of r2 is 3.53 s, Skew_Time 0.53 s.
        var r1 = bed.StartTrireme(1, TriremeYaml(1, 150, interval: "1"));
        var r2 = bed.StartTrireme(2, TriremeYaml(2, 120, interval: "1"));
        WaitForSoleHolder(bed, 1, [1, 2]);
        NetnsBed.WaitFor(() => r2.Output.Contains("Initialize -> Backup", StringComparison.Ordinal), Generous, bed.Logs);

        r1.Signal("TERM");
        r1.WaitForExit();
        Assert.False(bed.HoldsVip(1)); // a graceful stop removes the VIP
        WaitForSoleHolder(bed, 2, [1, 2]);
        // Protocol behaviour read from the two logs' timestamps (not a performance bound): without the
        // priority-0 advert r2 would take over Master_Down_Interval (3.53 s) after r1's last advert.
        var stoppedAt = LogTime(r1.Output, "Master -> Initialize (Shutdown)");
        var tookOverAt = LogTime(r2.Output, "Backup -> Master");
        Assert.True(tookOverAt - stoppedAt < TimeSpan.FromSeconds(2.5), $"takeover {tookOverAt - stoppedAt} after the stop\n{bed.Logs()}");
        WaitForClientOn(bed, 2);
    }

    [Fact]
    public void Preempt_takes_the_vip_back_and_nopreempt_leaves_it()
    {
        using var bed = NewBed();
        var r1 = bed.StartTrireme(1, TriremeYaml(1, 150));
        bed.StartTrireme(2, TriremeYaml(2, 120));
        WaitForSoleHolder(bed, 1, [1, 2]);
        r1.Signal("TERM");
        r1.WaitForExit();
        WaitForSoleHolder(bed, 2, [1, 2]);

        var again = bed.StartTrireme(1, TriremeYaml(1, 150));
        WaitForSoleHolder(bed, 1, [1, 2]); // preempt (the default)
        WaitForClientOn(bed, 1);
        again.Signal("TERM");
        again.WaitForExit();
        WaitForSoleHolder(bed, 2, [1, 2]);

        var polite = bed.StartTrireme(1, TriremeYaml(1, 150, preempt: false));
        NetnsBed.WaitFor(() => polite.Output.Contains("Initialize -> Backup", StringComparison.Ordinal), Generous, bed.Logs);
        // Three of r1's Master_Down_Intervals (3 x 1.72 s) pass with r2 still the only holder.
        var until = DateTime.UtcNow.AddSeconds(5.5);
        while (DateTime.UtcNow < until)
        {
            Assert.Equal([2], bed.VipHolders([1, 2]));
            Thread.Sleep(250); // sampling interval of an invariant, not a wait for state
        }

        Assert.DoesNotContain("Backup -> Master", polite.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void After_a_partition_heals_exactly_one_master_remains()
    {
        using var bed = NewBed();
        bed.StartTrireme(1, TriremeYaml(1, 150));
        bed.StartTrireme(2, TriremeYaml(2, 100));
        bed.StartTrireme(3, TriremeYaml(3, 100));
        WaitForSoleHolder(bed, 1, [1, 2, 3]);

        bed.Partition(1, cut: true);
        // r1 cannot hear anyone and stays master; the other side elects r3: two masters while cut.
        NetnsBed.WaitFor(() => bed.VipHolders([1, 2, 3]).SequenceEqual([1, 3]), Generous, bed.Logs);

        bed.Partition(1, cut: false);
        WaitForSoleHolder(bed, 1, [1, 2, 3]);
        var until = DateTime.UtcNow.AddSeconds(3);
        while (DateTime.UtcNow < until)
        {
            Assert.Equal([1], bed.VipHolders([1, 2, 3]));
            Thread.Sleep(250); // sampling interval of an invariant, not a wait for state
        }

        Assert.True(bed.ClientPings());
        WaitForClientOn(bed, 1);
    }

    [Fact]
    public void Interface_down_is_fault_and_the_vip_moves_then_comes_back_with_the_link()
    {
        using var bed = NewBed();
        var r1 = bed.StartTrireme(1, TriremeYaml(1, 150));
        bed.StartTrireme(2, TriremeYaml(2, 120));
        WaitForSoleHolder(bed, 1, [1, 2]);

        NetnsBed.Run("ip", "netns", "exec", bed.Routers[0], "ip", "link", "set", "eth0", "down");
        NetnsBed.WaitFor(() => r1.Output.Contains("Master -> Fault", StringComparison.Ordinal), Generous, bed.Logs);
        WaitForSoleHolder(bed, 2, [1, 2]);
        WaitForClientOn(bed, 2);

        NetnsBed.Run("ip", "netns", "exec", bed.Routers[0], "ip", "link", "set", "eth0", "up");
        NetnsBed.WaitFor(() => r1.Output.Contains("Fault -> Backup", StringComparison.Ordinal), Generous, bed.Logs);
        WaitForSoleHolder(bed, 1, [1, 2]); // preempts back once it hears r2's lower priority
        WaitForClientOn(bed, 1);
    }

    [Fact]
    public void A_failing_tracked_check_moves_the_vip_and_recovery_moves_it_back()
    {
        using var bed = NewBed();
        var flag = Path.Combine(bed.Directory, "apiserver-down");
        var track = $$"""
            track:
              - name: fake-apiserver
                type: script
                script: "test ! -e {{flag}}"
                interval: 0.2
                timeout: 2
                weight: -60
                fall: 2
                rise: 2
            """;
        bed.StartTrireme(1, TriremeYaml(1, 150, extra: track));
        bed.StartTrireme(2, TriremeYaml(2, 120));
        WaitForSoleHolder(bed, 1, [1, 2]);

        File.WriteAllText(flag, "down");
        WaitForSoleHolder(bed, 2, [1, 2]); // 150 - 60 = 90 < 120: r2 preempts
        WaitForClientOn(bed, 2);

        File.Delete(flag);
        WaitForSoleHolder(bed, 1, [1, 2]);
        WaitForClientOn(bed, 1);
    }

    [Fact]
    public void Interop_v2_auth_pass_keepalived_to_trireme_to_keepalived()
    {
        using var bed = NewBed();
        RequireKeepalived();
        var dump = bed.StartTcpdump();
        var k1 = bed.StartKeepalived(1, KeepalivedConf(1, 150, 2, "1"));
        var t2 = bed.StartTrireme(2, TriremeYaml(2, 120, version: 2, interval: "1"));
        var k3 = bed.StartKeepalived(3, KeepalivedConf(3, 100, 2, "1"));
        WaitForSoleHolder(bed, 1, [1, 2, 3]);
        WaitForClientOn(bed, 1);

        k1.Kill(); // keepalived master killed: Trireme takes over
        WaitForSoleHolder(bed, 2, [2, 3]);
        WaitForClientOn(bed, 2);
        Assert.True(bed.ClientPings());

        t2.Kill(); // Trireme master killed: keepalived takes over
        WaitForSoleHolder(bed, 3, [3]);
        WaitForClientOn(bed, 3);

        AssertOnTheWire(dump, "10.77.1.12 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 120, authtype simple, intvl 1s");
        AssertOnTheWire(dump, "10.77.1.11 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 150, authtype simple, intvl 1s");
        Assert.DoesNotContain("bad", k3.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Interop_v3_trireme_to_keepalived_to_trireme()
    {
        using var bed = NewBed();
        RequireKeepalived();
        var dump = bed.StartTcpdump();
        var t1 = bed.StartTrireme(1, TriremeYaml(1, 150));
        var k2 = bed.StartKeepalived(2, KeepalivedConf(2, 120, 3, "0.5"));
        bed.StartTrireme(3, TriremeYaml(3, 100));
        WaitForSoleHolder(bed, 1, [1, 2, 3]);
        WaitForClientOn(bed, 1);

        t1.Kill(); // Trireme master killed: keepalived takes over
        WaitForSoleHolder(bed, 2, [2, 3]);
        WaitForClientOn(bed, 2);

        k2.Kill(); // keepalived master killed: Trireme takes over
        WaitForSoleHolder(bed, 3, [3]);
        WaitForClientOn(bed, 3);
        Assert.True(bed.ClientPings());

        AssertOnTheWire(dump, "10.77.1.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 50cs");
        AssertOnTheWire(dump, "10.77.1.12 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 120, intvl 50cs");
    }

    /// <summary>The UTC timestamp `trireme vip` puts at the start of the first log line containing <paramref name="text"/>.</summary>
    internal static DateTime LogTime(string log, string text)
    {
        var line = log.Split('\n').First(l => l.Contains(text, StringComparison.Ordinal));
        return DateTime.Parse(line[..line.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal);
    }

    [Fact]
    public void Interop_v3_unicast_checksums_use_the_peer_address_both_ways()
    {
        using var bed = NewBed();
        RequireKeepalived();
        var dump = bed.StartTcpdump();
        var k1 = bed.StartKeepalived(1, KeepalivedConf(1, 150, 3, "0.5", unicast: true));
        var t2 = bed.StartTrireme(2, TriremeYaml(2, 120, extra: UnicastYaml(2)));
        bed.StartKeepalived(3, KeepalivedConf(3, 100, 3, "0.5", unicast: true));
        WaitForSoleHolder(bed, 1, [1, 2, 3]);

        k1.Kill();
        WaitForSoleHolder(bed, 2, [2, 3]);
        WaitForClientOn(bed, 2);
        AssertOnTheWire(dump, "10.77.1.12 > 10.77.1.13: VRRPv3, Advertisement, vrid 51, prio 120, intvl 50cs");

        t2.Kill();
        WaitForSoleHolder(bed, 3, [3]);
        WaitForClientOn(bed, 3);
        // Trireme's backup dropped nothing from keepalived: no checksum or TTL complaints in its log.
        Assert.DoesNotContain("BadChecksum", t2.Output, StringComparison.Ordinal);
    }

    private static void RequireKeepalived()
    {
        if (!File.Exists("/usr/sbin/keepalived") || !File.Exists("/usr/bin/tcpdump"))
        {
            Assert.Skip("keepalived and tcpdump are needed for interop (apt-get install keepalived tcpdump)");
        }
    }

    private static void AssertOnTheWire(RouterProcess dump, string expected) =>
        NetnsBed.WaitFor(() => dump.Output.Contains(expected, StringComparison.Ordinal), TimeSpan.FromSeconds(10),
            () => $"tcpdump did not show '{expected}':\n{Tail(dump.Output)}");

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;
}
