namespace Trireme.Vrrp.Core;

/// <summary>
/// One decoded advertisement with the IP header fields the state machine needs: the sender's primary
/// address (the RFC 5798 tie-breaker) and the advertised interval, converted to ticks for both
/// versions (v2 carries seconds, v3 centiseconds).
/// </summary>
public readonly record struct VrrpAdvertisement(
    VrrpVersion Version,
    byte VirtualRouterId,
    byte Priority,
    int AdvertIntervalTicks,
    Ipv4 Source,
    Ipv4 Destination,
    IReadOnlyList<Ipv4> Addresses);

/// <summary>What a receiver checks a packet against: its own instance's settings (RFC 5798 §7.1,
/// RFC 3768 §7.1).</summary>
public sealed record VrrpReceiveFilter(
    VrrpVersion Version,
    byte VirtualRouterId,
    VrrpAuthType AuthType,
    byte[] AuthData,
    int AdvertIntervalTicks,
    bool RequireTtl255 = true);
