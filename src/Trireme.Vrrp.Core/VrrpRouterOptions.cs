namespace Trireme.Vrrp.Core;

/// <summary>
/// One VRRP instance (one virtual router on one interface). Intervals are in ticks (1 ms). Defaults are
/// keepalived's: garp_master_repeat 5, garp_master_delay 5 s.
/// </summary>
public sealed record VrrpRouterOptions
{
    public required byte VirtualRouterId { get; init; }

    /// <summary>1–254, or 255 for the address owner (which skips Backup at startup, RFC 5798 §6.4.1).</summary>
    public required byte Priority { get; init; }

    public required VrrpVersion Version { get; init; }

    /// <summary>Advertisement_Interval: whole seconds for v2, centiseconds for v3.</summary>
    public required int AdvertIntervalTicks { get; init; }

    /// <summary>The address adverts come from; the tie-breaker between equal priorities.</summary>
    public required Ipv4 PrimaryAddress { get; init; }

    public required IReadOnlyList<Ipv4> VirtualAddresses { get; init; }

    public bool Preempt { get; init; } = true;

    /// <summary>keepalived's preempt_delay: a lower-priority master is tolerated this long after it is
    /// first seen, so a node that just booted does not grab the VIP before its services are warm.</summary>
    public int PreemptDelayTicks { get; init; }

    public VrrpAuthType AuthType { get; init; } = VrrpAuthType.None;

    public byte[] AuthData { get; init; } = [];

    /// <summary>Gratuitous ARPs per VIP in each burst (keepalived's garp_master_repeat).</summary>
    public int GarpMasterRepeat { get; init; } = 5;

    /// <summary>Delay before the second burst after becoming master (garp_master_delay); 0 disables it.</summary>
    public int GarpMasterDelayTicks { get; init; } = 5 * VrrpTicks.PerSecond;

    /// <summary>
    /// When a master hears a lower-priority master (two backups timed out together), it re-announces at
    /// once and again after this delay. The second burst lands after the loser's own GARPs, so a client
    /// never keeps the loser's MAC (keepalived waits for garp_master_delay, 5 s, instead).
    /// </summary>
    public int ReannounceDelayTicks { get; init; } = 50;

    public IReadOnlyList<VrrpTrackOptions> Tracks { get; init; } = [];

    /// <summary>
    /// Added to every Master_Down_Timer this backup sets. Backups with equal priority share the same
    /// timer, so after a crash they race and both become master; giving each a distinct small delay
    /// (ordered by address, higher address first, as RFC 5798's tie-break would end anyway) lets the
    /// first one's advert reach the others before their timers fire. 0 is the plain RFC. The host
    /// derives it from the unicast peer list (see docs/vrrp.md).
    /// </summary>
    public int TieBreakDelayTicks { get; init; }

    public void Validate()
    {
        if (VirtualRouterId == 0)
        {
            throw new ArgumentException("virtualRouterId must be 1-255");
        }

        if (Priority == 0)
        {
            throw new ArgumentException("priority must be 1-255 (0 is reserved for a master that stops)");
        }

        var minimum = Version == VrrpVersion.V2 ? VrrpTicks.PerSecond : VrrpTicks.PerCentisecond;
        if (AdvertIntervalTicks < minimum || AdvertIntervalTicks % minimum != 0)
        {
            throw new ArgumentException($"advertInterval must be a whole number of {(Version == VrrpVersion.V2 ? "seconds" : "centiseconds")}");
        }

        if (TieBreakDelayTicks < 0 || TieBreakDelayTicks > AdvertIntervalTicks)
        {
            throw new ArgumentException("the tie-break delay must be 0..Advertisement_Interval");
        }

        if (VirtualAddresses.Count is 0 or > VrrpPacketCodec.MaxAddresses)
        {
            throw new ArgumentException($"virtualIps must hold 1-{VrrpPacketCodec.MaxAddresses} addresses");
        }
    }
}
