namespace Trireme.Vrrp.Core;

/// <summary>An advertisement the host must send now, with the priority it carries (0 when a master stops).</summary>
public readonly record struct VrrpOutgoingAdvert(byte Priority);

/// <summary>Why the state changed, for logs, notify scripts and tests.</summary>
public enum VrrpTransitionReason
{
    Startup,
    MasterDown,
    PriorityZeroSeen,
    HigherPriorityMaster,
    EqualPriorityHigherAddress,
    Shutdown,
    FaultEntered,
    FaultCleared,
}

public readonly record struct VrrpTransition(long AtTick, VrrpState From, VrrpState To, VrrpTransitionReason Reason, int Priority);

/// <summary>
/// What the host must do after a Step/Tick, in this order: send adverts, remove VIPs, add VIPs, then send
/// gratuitous ARPs (GarpRounds rounds of one ARP per VIP). Advert first, as keepalived does: a new
/// master's advert is what stops an equal backup whose timer is about to fire, so it must not wait behind
/// a netlink round trip and a GARP burst; and a leaving master's priority 0 starts the backups' Skew_Time
/// sooner. GARPs come after the VIP exists, so the ARP replies they provoke are answered. (When two masters
/// race anyway, the winner's re-announce sends a second burst later, so its GARP is the last the client
/// sees whatever the order here.) The address lists are net effects: becoming master and yielding in one
/// batch leaves both empty.
/// </summary>
public sealed class VrrpReady
{
    public List<Ipv4> RemoveAddresses { get; } = [];

    public List<Ipv4> AddAddresses { get; } = [];

    public int GarpRounds { get; set; }

    public List<VrrpOutgoingAdvert> Adverts { get; } = [];

    public List<VrrpTransition> Transitions { get; } = [];

    /// <summary>Lower masters this master answered at once with an advert and a GARP burst (the dual-master
    /// re-announce), for the host to log: the proof that a race was resolved and by whom.</summary>
    public List<Ipv4> Reannounced { get; } = [];

    public bool IsEmpty => RemoveAddresses.Count == 0 && AddAddresses.Count == 0 && GarpRounds == 0
        && Adverts.Count == 0 && Transitions.Count == 0 && Reannounced.Count == 0;
}
