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
/// What the host must do after a Step/Tick, in this order: remove VIPs, add VIPs, send gratuitous ARPs
/// (GarpRounds rounds of one ARP per VIP), then send adverts. GARP before advert matters: when two
/// masters race, the loser's GARPs are then already on the wire when the winner hears its advert and
/// re-announces, so the winner's GARP is the last the client sees. The address lists are net effects:
/// becoming master and yielding in one batch leaves both empty.
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
