// Proves the health state machine counts as HAProxy documents: a server starts UP, goes DOWN after
// `fall` failed checks in a row and comes back after `rise` successes in a row, a result of the other
// kind resets the run, and probes are paced by inter / fastinter / downinter. Driven tick by tick.
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Tests;

public sealed class CoreHealthTests
{
    private static readonly CheckTimings Timings = new(InterTicks: 10, FastInterTicks: 3, DownInterTicks: 20, Rise: 2, Fall: 3);

    [Fact]
    public void Down_after_fall_failures_in_a_row_and_up_after_rise_successes()
    {
        var health = new ServerHealth(Timings);
        Assert.True(health.IsUp);
        Assert.True(health.Tick());
        Assert.Equal(HealthTransition.None, health.Step(false));
        Assert.Equal(HealthTransition.None, health.Step(false));
        Assert.Equal(HealthTransition.WentDown, health.Step(false));
        Assert.False(health.IsUp);
        Assert.Equal(HealthTransition.None, health.Step(true));
        Assert.Equal(HealthTransition.WentUp, health.Step(true));
        Assert.True(health.IsUp);
    }

    [Fact]
    public void A_result_of_the_other_kind_resets_the_run()
    {
        var health = new ServerHealth(Timings);
        health.Step(false);
        health.Step(false);
        health.Step(true);
        Assert.Equal(0, health.RunLength);
        health.Step(false);
        health.Step(false);
        Assert.True(health.IsUp);
    }

    [Fact]
    public void Probes_are_paced_by_inter_fastinter_and_downinter()
    {
        var health = new ServerHealth(Timings);
        Assert.True(health.Tick());
        health.Step(true);
        Assert.Equal(10, TicksUntilProbe(health));
        health.Step(false);
        Assert.Equal(3, TicksUntilProbe(health));
        health.Step(false);
        health.Step(false);
        Assert.False(health.IsUp);
        Assert.Equal(20, TicksUntilProbe(health));
    }

    [Fact]
    public void No_second_probe_while_one_is_in_flight()
    {
        var health = new ServerHealth(Timings);
        Assert.True(health.Tick());
        for (var i = 0; i < 100; i++)
        {
            Assert.False(health.Tick());
        }
    }

    private static int TicksUntilProbe(ServerHealth health)
    {
        for (var ticks = 1; ticks < 1000; ticks++)
        {
            if (health.Tick())
            {
                return ticks;
            }
        }

        throw new InvalidOperationException("no probe within 1000 ticks");
    }
}
