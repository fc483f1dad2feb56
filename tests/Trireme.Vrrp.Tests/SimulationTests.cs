// Seeded simulation of 3–5 routers (random priorities with ties, v2 or v3, preempt or not) through phases
// of packet loss, delay and partitions. Proves the two VRRP safety/liveness claims from issue 6:
// (1) once the network has been stable for one Master_Down_Interval plus an advert, there is at most one
// master at every millisecond, and exactly one; (2) after the master is killed (no priority 0), a new
// master exists within Master_Down_Interval of the last advert it sent, plus the network delay.
// TRIREME_SIM_SEEDS=<n> runs more seeds; TRIREME_SIM_SEED=<s> replays one.
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

public sealed class SimulationTests
{
    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable("TRIREME_SIM_SEED"), out var one))
        {
            data.Add(one);
            return data;
        }

        var count = int.TryParse(Environment.GetEnvironmentVariable("TRIREME_SIM_SEEDS"), out var n) ? n : 24;
        for (var seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void One_master_once_stable_and_a_new_master_within_master_down_interval(int seed)
    {
        var random = new Random(seed);
        var sim = new VrrpSimulation(seed, RandomRouters(random));
        var stableDelay = 2;
        sim.StartAll();

        for (var round = 0; round < 3; round++)
        {
            // Chaos: loss, long delays, a random partition.
            sim.LossRate = random.NextDouble() * 0.4;
            sim.MaxDelayTicks = random.Next(1, 300);
            for (var i = 0; i < sim.Group.Length; i++)
            {
                sim.Group[i] = random.Next(2);
            }

            sim.Run(random.Next(2_000, 8_000));

            // Heal: settle, then exactly one master at every tick.
            sim.LossRate = 0;
            sim.MaxDelayTicks = stableDelay;
            Array.Clear(sim.Group);
            var settle = SettleTicks(sim);
            sim.Run(settle);
            sim.Run(3 * MaxInterval(sim), () => Assert.True(sim.MasterCount == 1, $"seed {seed}: {sim.MasterCount} masters at {sim.Now}"));

            // Kill -9 the master: a new one within Master_Down_Interval (+ the advert gap and delay).
            var master = sim.SingleMaster!.Value;
            sim.Crash(master);
            var deadline = sim.Now + MaxInterval(sim) + MaxMasterDown(sim) + stableDelay + 1;
            while (sim.MasterCount == 0)
            {
                Assert.True(sim.Now < deadline, $"seed {seed}: no master by {sim.Now} (killed {master})");
                sim.Run(1);
            }

            sim.Run(settle);
            sim.Run(3 * MaxInterval(sim), () => Assert.True(sim.MasterCount == 1, $"seed {seed}: {sim.MasterCount} masters at {sim.Now}"));
            sim.Restart(master);
        }

        Assert.True(sim.DeliveredPackets > 0);
    }

    [Fact]
    public void Equal_priority_backups_that_time_out_together_resolve_to_the_higher_address_at_once()
    {
        var options = new[] { 150, 100, 100 }.Select((p, i) => RouterHarness.Options((byte)p, advertTicks: 100) with
        {
            PrimaryAddress = Ipv4.Parse($"10.77.1.{11 + i}"),
        }).ToArray();
        var sim = new VrrpSimulation(7, options);
        sim.StartAll();
        sim.Run(1_000);
        Assert.Equal(0, sim.SingleMaster);

        sim.Crash(0);
        sim.Run(1_000);
        // Both .12 and .13 had the same Master_Down_Timer, so both became master; .12 yielded as soon as it
        // heard .13, which stayed master.
        Assert.Equal(2, sim.SingleMaster);
    }

    [Fact]
    public void With_the_unicast_tie_break_equal_backups_do_not_race()
    {
        // What VrrpConfig.TieBreakDelayTicks gives three unicast routers at 0.1 s: 10 ms per higher peer.
        var options = new[] { 150, 100, 100 }.Select((p, i) => RouterHarness.Options((byte)p, advertTicks: 100) with
        {
            PrimaryAddress = Ipv4.Parse($"10.77.1.{11 + i}"),
            TieBreakDelayTicks = (2 - i) * 10,
        }).ToArray();
        var sim = new VrrpSimulation(7, options) { MaxDelayTicks = 2 };
        sim.StartAll();
        sim.Run(1_000);
        sim.Crash(0);
        var masters = 0;
        sim.Run(1_000, () => masters = Math.Max(masters, sim.MasterCount));
        Assert.Equal(2, sim.SingleMaster);
        Assert.Equal(1, masters); // never two at once
        Assert.DoesNotContain(sim.Routers[1].TakeReady().Transitions, t => t.To == VrrpState.Master);
    }

    private static VrrpRouterOptions[] RandomRouters(Random random)
    {
        var count = random.Next(3, 6);
        var version = random.Next(2) == 0 ? VrrpVersion.V2 : VrrpVersion.V3;
        var interval = version == VrrpVersion.V2 ? 1000 : random.Next(1, 11) * 10 * VrrpTicks.PerCentisecond;
        var preempt = random.Next(3) != 0;
        return Enumerable.Range(0, count).Select(i => RouterHarness.Options(
            priority: (byte)(random.Next(4) == 0 ? 100 : random.Next(1, 255)),
            version: version,
            advertTicks: interval,
            preempt: preempt) with
        {
            PrimaryAddress = Ipv4.Parse($"10.77.1.{11 + i}"),
            AuthType = version == VrrpVersion.V2 ? VrrpAuthType.SimpleText : VrrpAuthType.None,
            AuthData = version == VrrpVersion.V2 ? "secret12"u8.ToArray() : [],
        }).ToArray();
    }

    private static int MaxInterval(VrrpSimulation sim) => sim.Options.Max(o => o.AdvertIntervalTicks);

    private static int MaxMasterDown(VrrpSimulation sim) => sim.Routers.Max(r => r.MasterDownIntervalTicks);

    private static int SettleTicks(VrrpSimulation sim) => MaxMasterDown(sim) + (2 * MaxInterval(sim)) + 10;
}
