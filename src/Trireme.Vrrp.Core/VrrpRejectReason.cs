namespace Trireme.Vrrp.Core;

/// <summary>
/// Why a packet from the wire was dropped. Every drop has a reason and a counter; nothing from the wire
/// throws. The numeric values are frozen (they name metrics) — add new ones at the end.
/// </summary>
public enum VrrpRejectReason
{
    None = 0,
    TooShort = 1,
    NotIpv4 = 2,
    BadIpHeader = 3,
    NotVrrpProtocol = 4,
    TtlNot255 = 5,
    BadVersion = 6,
    BadType = 7,
    OtherVirtualRouterId = 8,
    AddressCountMismatch = 9,
    BadChecksum = 10,
    AuthTypeMismatch = 11,
    AuthFailed = 12,
    AdvertIntervalMismatch = 13,
    ZeroAdvertInterval = 14,
    OwnPacket = 15,
    TooManyAddresses = 16,
}

/// <summary>Counts of dropped packets by reason, so a flapping or hostile peer shows up in metrics.</summary>
public sealed class VrrpRejectCounters
{
    private readonly long[] _counts = new long[Enum.GetValues<VrrpRejectReason>().Length];

    public void Add(VrrpRejectReason reason) => _counts[(int)reason]++;

    public long this[VrrpRejectReason reason] => _counts[(int)reason];

    public long Total => _counts.Sum() - _counts[0];

    public IEnumerable<(VrrpRejectReason Reason, long Count)> NonZero() =>
        Enum.GetValues<VrrpRejectReason>().Where(r => r != VrrpRejectReason.None && _counts[(int)r] > 0)
            .Select(r => (r, _counts[(int)r]));
}
