// Proves the RFC 5798 §6.4 state machine (shared by RFC 3768), one test per transition sentence, plus
// keepalived's additions (preempt_delay, tracked priority, FAULT) and the dual-master re-announce. Time
// is driven by hand in 1 ms ticks, so every timer value is asserted exactly.
using Trireme.Vrrp.Core;
using static Trireme.Vrrp.Tests.RouterHarness;

namespace Trireme.Vrrp.Tests;

public sealed class Rfc5798TransitionTests
{
    [Fact]
    public void S6_4_1_Startup_with_priority_255_becomes_master_sends_advert_and_garp()
    {
        var router = Started(Options(priority: 255));
        var ready = router.TakeReady();

        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal([new VrrpOutgoingAdvert(255)], ready.Adverts);
        Assert.Equal(router.Options.VirtualAddresses, ready.AddAddresses);
        Assert.Equal(5, ready.GarpRounds);
        Assert.Equal(1000, router.NextDeadlineTick); // Adver_Timer = Advertisement_Interval
    }

    [Fact]
    public void S6_4_1_Startup_below_255_becomes_backup_with_master_down_timer()
    {
        var router = Started(Options(priority: 100));
        var ready = router.TakeReady();

        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(ready.Adverts);
        Assert.Empty(ready.AddAddresses);
        // Skew_Time = (256-100)*1000/256 = 609 ms; Master_Down_Interval = 3*1000 + 609.
        Assert.Equal(609, router.SkewTimeTicks);
        Assert.Equal(3609, router.MasterDownIntervalTicks);
        Assert.Equal(3609, router.NextDeadlineTick);
    }

    [Fact]
    public void S6_4_2_Backup_master_down_timer_fires_becomes_master()
    {
        var router = Started(Options());
        router.TakeReady();
        router.Tick(3608);
        Assert.Equal(VrrpState.Backup, router.State);

        router.Tick(3609);
        var ready = router.TakeReady();
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal([new VrrpOutgoingAdvert(100)], ready.Adverts);
        Assert.Equal(5, ready.GarpRounds);
        Assert.Equal(VrrpTransitionReason.MasterDown, Assert.Single(ready.Transitions).Reason);
    }

    [Fact]
    public void S6_4_2_Backup_priority_zero_advert_sets_master_down_timer_to_skew_time()
    {
        var router = Started(Options());
        router.Step(500, Advert(0));
        Assert.Equal(500 + 609, router.NextDeadlineTick);
        router.Tick(1109);
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void S6_4_2_Backup_higher_priority_advert_resets_master_down_timer()
    {
        var router = Started(Options());
        router.Step(2000, Advert(150));
        Assert.Equal(2000 + 3609, router.NextDeadlineTick);
    }

    [Fact]
    public void S6_4_2_Backup_v3_learns_master_adver_interval_from_the_advert()
    {
        var router = Started(Options(advertTicks: 1000));
        router.Step(10, Advert(150, intervalTicks: 100));
        Assert.Equal(100, router.MasterAdverIntervalTicks);
        // 3*100 + (156*100)/256 = 300 + 60
        Assert.Equal(360, router.MasterDownIntervalTicks);
        Assert.Equal(10 + 360, router.NextDeadlineTick);
    }

    [Fact]
    public void S6_4_2_Backup_with_preempt_discards_lower_priority_advert_and_takes_over()
    {
        var router = Started(Options(priority: 100));
        router.Step(1000, Advert(50));
        Assert.Equal(3609, router.NextDeadlineTick); // timer not reset
        router.Tick(3609);
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void S6_4_2_Backup_without_preempt_accepts_lower_priority_master()
    {
        var router = Started(Options(priority: 100, preempt: false));
        router.Step(1000, Advert(50));
        Assert.Equal(1000 + 3609, router.NextDeadlineTick);
    }

    [Fact]
    public void Keepalived_preempt_delay_tolerates_a_lower_master_until_the_delay_passes()
    {
        var router = Started(Options(priority: 100, preemptDelayTicks: 5000));
        for (long t = 1000; t <= 5000; t += 1000)
        {
            router.Step(t, Advert(50));
            Assert.Equal(VrrpState.Backup, router.State);
        }

        // First lower advert at 1000: tolerated until 6000, then discarded and the timer runs out.
        router.Step(6000, Advert(50));
        Assert.Equal(5000 + 3609, router.NextDeadlineTick);
        router.Tick(8609);
        Assert.Equal(VrrpState.Master, router.State);
    }

    [Fact]
    public void S6_4_2_Backup_shutdown_goes_to_initialize_silently()
    {
        var router = Started(Options());
        router.TakeReady();
        router.Shutdown(100);
        var ready = router.TakeReady();
        Assert.Equal(VrrpState.Initialize, router.State);
        Assert.Empty(ready.Adverts);
    }

    [Fact]
    public void S6_4_3_Master_adver_timer_fires_sends_advert_and_rearms()
    {
        var router = Master(Options());
        var at = router.NextDeadlineTick;
        router.Tick(at);
        Assert.Equal([new VrrpOutgoingAdvert(100)], router.TakeReady().Adverts);
        Assert.Equal(at + 1000, router.NextDeadlineTick);
    }

    [Fact]
    public void S6_4_3_Master_shutdown_sends_priority_zero_and_removes_vips()
    {
        var router = Master(Options());
        router.Shutdown(4000);
        var ready = router.TakeReady();
        Assert.Equal([new VrrpOutgoingAdvert(0)], ready.Adverts);
        Assert.Equal(router.Options.VirtualAddresses, ready.RemoveAddresses);
        Assert.Equal(VrrpState.Initialize, router.State);
    }

    [Fact]
    public void S6_4_3_Master_priority_zero_advert_answers_with_an_advert_at_once()
    {
        var router = Master(Options());
        router.Step(4000, Advert(0));
        Assert.Equal([new VrrpOutgoingAdvert(100)], router.TakeReady().Adverts);
        Assert.Equal(5000, router.NextDeadlineTick);
    }

    [Fact]
    public void S6_4_3_Master_higher_priority_advert_becomes_backup()
    {
        var router = Master(Options());
        router.Step(4000, Advert(150, Lower, intervalTicks: 200));
        var ready = router.TakeReady();
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Equal(router.Options.VirtualAddresses, ready.RemoveAddresses);
        Assert.Equal(200, router.MasterAdverIntervalTicks);
        Assert.Equal(4000 + 600 + (156 * 200 / 256), router.NextDeadlineTick);
    }

    [Fact]
    public void S6_4_3_Master_equal_priority_higher_primary_address_becomes_backup()
    {
        var router = Master(Options());
        router.Step(4000, Advert(100, Higher));
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Equal(VrrpTransitionReason.EqualPriorityHigherAddress, router.TakeReady().Transitions.Single().Reason);
    }

    [Fact]
    public void S6_4_3_Master_equal_priority_lower_address_is_discarded_and_reannounced()
    {
        var router = Master(Options());
        router.Step(4000, Advert(100, Lower));
        var ready = router.TakeReady();
        Assert.Equal(VrrpState.Master, router.State);
        Assert.Equal([new VrrpOutgoingAdvert(100)], ready.Adverts);
        Assert.Equal(5, ready.GarpRounds);
        Assert.Equal([Lower], ready.Reannounced);

        // The second burst lands after the loser's GARPs.
        router.Tick(4050);
        Assert.Equal(5, router.TakeReady().GarpRounds);

        // Rate limit: a peer that never yields does not make us flood.
        router.Step(4100, Advert(100, Lower));
        var limited = router.TakeReady();
        Assert.Equal(0, limited.GarpRounds);
        Assert.Empty(limited.Reannounced);
    }

    [Fact]
    public void Becoming_master_and_yielding_in_one_batch_leaves_the_vips_alone()
    {
        // Found by the loopback test: the timer fired and the winner's advert was processed before the
        // host took the Ready; performing "remove, then add" would have left the VIP on a backup.
        var router = Started(Options());
        router.TakeReady();
        router.Tick(3609);
        router.Step(3609, Advert(100, Higher));
        var ready = router.TakeReady();
        Assert.Equal(VrrpState.Backup, router.State);
        Assert.Empty(ready.AddAddresses);
        Assert.Empty(ready.RemoveAddresses);
        Assert.Equal(0, ready.GarpRounds);
        Assert.Equal(2, ready.Transitions.Count);
    }

    [Fact]
    public void Keepalived_garp_master_delay_sends_a_second_burst()
    {
        var router = Started(Options());
        router.Tick(3609);
        router.TakeReady();
        router.Tick(3609 + 5000);
        Assert.Equal(5, router.TakeReady().GarpRounds);
    }

    [Fact]
    public void Tracked_check_with_negative_weight_lowers_priority_after_fall_results()
    {
        var router = Master(Options(priority: 150, tracks: [new VrrpTrackOptions("apiserver", -60, Fall: 3, Rise: 2)]));
        router.RecordCheck(4000, 0, false);
        router.RecordCheck(4001, 0, false);
        Assert.Equal(150, router.EffectivePriority);
        router.RecordCheck(4002, 0, false);
        Assert.Equal(90, router.EffectivePriority);
        Assert.Equal([new VrrpOutgoingAdvert(90)], router.TakeReady().Adverts);

        router.RecordCheck(4003, 0, true);
        Assert.Equal(90, router.EffectivePriority);
        router.RecordCheck(4004, 0, true);
        Assert.Equal(150, router.EffectivePriority);
    }

    [Fact]
    public void Tracked_check_with_weight_zero_puts_the_instance_in_fault_and_back()
    {
        var router = Master(Options(tracks: [new VrrpTrackOptions("script", 0)]));
        router.RecordCheck(4000, 0, false);
        var ready = router.TakeReady();
        Assert.Equal(VrrpState.Fault, router.State);
        Assert.Equal([new VrrpOutgoingAdvert(0)], ready.Adverts);
        Assert.Equal(router.Options.VirtualAddresses, ready.RemoveAddresses);

        router.RecordCheck(4100, 0, true);
        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public void Interface_down_is_fault_and_adverts_are_ignored_there()
    {
        var router = Started(Options());
        router.SetInterfaceUp(10, false);
        Assert.Equal(VrrpState.Fault, router.State);
        router.Step(20, Advert(150));
        Assert.Equal(long.MaxValue, router.NextDeadlineTick);
        router.SetInterfaceUp(30, true);
        Assert.Equal(VrrpState.Backup, router.State);
    }

    [Fact]
    public void Priority_255_owner_is_not_moved_by_tracks()
    {
        var router = Started(Options(priority: 255, tracks: [new VrrpTrackOptions("x", -50)]));
        router.RecordCheck(1, 0, false);
        Assert.Equal(255, router.EffectivePriority);
    }

    [Fact]
    public void V2_skew_time_is_256_minus_priority_over_256_seconds()
    {
        var router = Started(Options(priority: 200, version: VrrpVersion.V2));
        Assert.Equal((56 * 1000) / 256, router.SkewTimeTicks);
    }

    [Fact]
    public void Time_going_backwards_is_a_bug()
    {
        var router = Started(Options(), at: 100);
        Assert.Throws<InvalidOperationException>(() => router.Tick(99));
    }
}
