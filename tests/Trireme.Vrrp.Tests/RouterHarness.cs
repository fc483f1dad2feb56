using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

/// <summary>Small builders shared by the core tests: options, adverts and a router at a given tick.</summary>
internal static class RouterHarness
{
    public static readonly Ipv4 Self = Ipv4.Parse("10.77.1.12");
    public static readonly Ipv4 Lower = Ipv4.Parse("10.77.1.11");
    public static readonly Ipv4 Higher = Ipv4.Parse("10.77.1.13");
    public static readonly Ipv4 Vip = Ipv4.Parse("10.77.1.100");

    public static VrrpRouterOptions Options(byte priority = 100, VrrpVersion version = VrrpVersion.V3,
        int advertTicks = 1000, bool preempt = true, int preemptDelayTicks = 0, IReadOnlyList<VrrpTrackOptions>? tracks = null) => new()
    {
        VirtualRouterId = 51,
        Priority = priority,
        Version = version,
        AdvertIntervalTicks = advertTicks,
        PrimaryAddress = Self,
        VirtualAddresses = [Vip, Ipv4.Parse("10.77.1.101")],
        Preempt = preempt,
        PreemptDelayTicks = preemptDelayTicks,
        Tracks = tracks ?? [],
    };

    public static VrrpRouter Started(VrrpRouterOptions options, long at = 0)
    {
        var router = new VrrpRouter(options);
        router.Start(at);
        return router;
    }

    public static VrrpAdvertisement Advert(byte priority, Ipv4? source = null, int intervalTicks = 1000) =>
        new(VrrpVersion.V3, 51, priority, intervalTicks, source ?? Higher, VrrpPacketCodec.MulticastGroup, [Vip]);

    /// <summary>Drives a backup to master by letting its Master_Down_Timer run out.</summary>
    public static VrrpRouter Master(VrrpRouterOptions options)
    {
        var router = Started(options);
        router.Tick(router.NextDeadlineTick);
        router.TakeReady();
        Assert.Equal(VrrpState.Master, router.State);
        return router;
    }
}
