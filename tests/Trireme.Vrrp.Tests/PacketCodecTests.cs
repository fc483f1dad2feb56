// Proves the VRRP codec: v2 and v3 datagrams round-trip; the checksum matches an independent naive
// computation (v3 over the IPv4 pseudo-header, v2 over the message only); and every kind of bad input
// named in RFC 5798 §7.1 / RFC 3768 §7.1 is dropped with its own reason instead of throwing.
using System.Buffers.Binary;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

public sealed class PacketCodecTests
{
    private static readonly Ipv4 Source = Ipv4.Parse("10.77.1.11");
    private static readonly Ipv4[] Vips = [Ipv4.Parse("10.77.1.100"), Ipv4.Parse("10.77.1.101")];
    private static readonly byte[] Pass = "secret12"u8.ToArray();

    private static VrrpReceiveFilter V3Filter => new(VrrpVersion.V3, 51, VrrpAuthType.None, [], 100);

    private static VrrpReceiveFilter V2Filter => new(VrrpVersion.V2, 51, VrrpAuthType.SimpleText, Pass, 1000);

    private static byte[] V3Packet(byte priority = 150, int intervalTicks = 100)
    {
        var buffer = new byte[VrrpPacketCodec.MaxPacketBytes];
        var n = VrrpPacketCodec.Encode(buffer, VrrpVersion.V3, 51, priority, intervalTicks, Source, VrrpPacketCodec.MulticastGroup, Vips);
        return buffer[..n];
    }

    private static byte[] V2Packet(byte[]? pass = null)
    {
        var buffer = new byte[VrrpPacketCodec.MaxPacketBytes];
        var n = VrrpPacketCodec.Encode(buffer, VrrpVersion.V2, 51, 100, 1000, Source, VrrpPacketCodec.MulticastGroup, Vips,
            VrrpAuthType.SimpleText, pass ?? Pass);
        return buffer[..n];
    }

    [Fact]
    public void V3_round_trips_with_centisecond_interval()
    {
        var packet = V3Packet(intervalTicks: 100);
        Assert.Equal(20 + 8 + 8, packet.Length);
        Assert.Equal(0x31, packet[20]);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(24)) & 0x0fff); // 10 cs

        Assert.Equal(VrrpRejectReason.None, VrrpPacketCodec.TryDecode(packet, V3Filter, out var advert));
        Assert.Equal(150, advert.Priority);
        Assert.Equal(100, advert.AdvertIntervalTicks);
        Assert.Equal(Source, advert.Source);
        Assert.Equal(Vips, advert.Addresses);
    }

    [Fact]
    public void V2_round_trips_with_auth_pass_and_seconds_interval()
    {
        var packet = V2Packet();
        Assert.Equal(20 + 8 + 8 + 8, packet.Length);
        Assert.Equal(0x21, packet[20]);
        Assert.Equal(1, packet[24]); // auth type simple text
        Assert.Equal(1, packet[25]); // 1 s
        Assert.Equal("secret12"u8.ToArray(), packet[36..44]);
        Assert.Equal(VrrpRejectReason.None, VrrpPacketCodec.TryDecode(packet, V2Filter, out var advert));
        Assert.Equal(1000, advert.AdvertIntervalTicks);
    }

    [Fact]
    public void V3_checksum_covers_the_pseudo_header_as_a_naive_sum_does()
    {
        var packet = V3Packet();
        var vrrp = packet.AsSpan(20);
        var stored = BinaryPrimitives.ReadUInt16BigEndian(vrrp[6..]);

        // Naive: build the pseudo-header + message with a zero checksum and sum 16-bit words in a long.
        var buffer = new List<byte>();
        buffer.AddRange(packet[12..20]); // source, destination
        buffer.AddRange([0, 112, 0, (byte)vrrp.Length]);
        var copy = vrrp.ToArray();
        copy[6] = copy[7] = 0;
        buffer.AddRange(copy);
        long sum = 0;
        for (var i = 0; i < buffer.Count; i += 2)
        {
            sum += (buffer[i] << 8) | buffer[i + 1];
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        Assert.Equal((ushort)~sum, stored);
    }

    [Fact]
    public void V2_checksum_ignores_the_pseudo_header()
    {
        var packet = V2Packet();
        var vrrp = packet.AsSpan(20).ToArray();
        Assert.Equal(0, VrrpPacketCodec.Checksum(0, vrrp));
        // Changing the destination must not matter for v2.
        packet[19] ^= 1;
        Assert.Equal(VrrpRejectReason.None, VrrpPacketCodec.TryDecode(packet, V2Filter, out _));
    }

    [Fact]
    public void Wrong_ttl_is_dropped() => AssertRejected(Mutate(V3Packet(), p => p[8] = 254), V3Filter, VrrpRejectReason.TtlNot255);

    [Fact]
    public void Wrong_checksum_is_dropped() => AssertRejected(Mutate(V3Packet(), p => p[27] ^= 0x40), V3Filter, VrrpRejectReason.BadChecksum);

    [Fact]
    public void V3_checksum_with_other_destination_is_dropped() =>
        AssertRejected(Mutate(V3Packet(), p => p[19] ^= 1), V3Filter, VrrpRejectReason.BadChecksum);

    [Fact]
    public void Wrong_vrid_is_dropped() => AssertRejected(V3Packet(), V3Filter with { VirtualRouterId = 52 }, VrrpRejectReason.OtherVirtualRouterId);

    [Fact]
    public void Wrong_version_is_dropped() => AssertRejected(V3Packet(), V2Filter, VrrpRejectReason.BadVersion);

    [Fact]
    public void Wrong_type_is_dropped() => AssertRejected(Mutate(V3Packet(), p => p[20] = 0x32), V3Filter, VrrpRejectReason.BadType);

    [Fact]
    public void Wrong_auth_pass_is_dropped() =>
        AssertRejected(V2Packet("other"u8.ToArray()), V2Filter, VrrpRejectReason.AuthFailed);

    [Fact]
    public void Missing_auth_is_dropped() =>
        AssertRejected(V2Packet(), V2Filter with { AuthType = VrrpAuthType.None }, VrrpRejectReason.AuthTypeMismatch);

    [Fact]
    public void V2_interval_mismatch_is_dropped() =>
        AssertRejected(V2Packet(), V2Filter with { AdvertIntervalTicks = 2000 }, VrrpRejectReason.AdvertIntervalMismatch);

    [Fact]
    public void Address_count_that_disagrees_with_length_is_dropped() =>
        AssertRejected(Mutate(V3Packet(), p => p[23] = 3), V3Filter, VrrpRejectReason.AddressCountMismatch);

    [Fact]
    public void Short_and_non_ipv4_input_is_dropped()
    {
        AssertRejected([], V3Filter, VrrpRejectReason.TooShort);
        AssertRejected(V3Packet()[..25], V3Filter, VrrpRejectReason.TooShort);
        AssertRejected(Mutate(V3Packet(), p => p[0] = 0x65), V3Filter, VrrpRejectReason.NotIpv4);
        AssertRejected(Mutate(V3Packet(), p => p[9] = 17), V3Filter, VrrpRejectReason.NotVrrpProtocol);
        AssertRejected(Mutate(V3Packet(), p => p[0] = 0x44), V3Filter, VrrpRejectReason.BadIpHeader);
    }

    [Fact]
    public void Zero_interval_is_dropped() => AssertRejected(V3Packet(intervalTicks: 0), V3Filter, VrrpRejectReason.ZeroAdvertInterval);

    [Fact]
    public void Counters_count_each_reason()
    {
        var counters = new VrrpRejectCounters();
        counters.Add(VrrpRejectReason.BadChecksum);
        counters.Add(VrrpRejectReason.BadChecksum);
        counters.Add(VrrpRejectReason.TtlNot255);
        Assert.Equal(2, counters[VrrpRejectReason.BadChecksum]);
        Assert.Equal(3, counters.Total);
    }

    [Fact]
    public void Reject_reason_values_are_frozen()
    {
        // These numbers name metrics; renumbering would silently change dashboards.
        Assert.Equal(5, (int)VrrpRejectReason.TtlNot255);
        Assert.Equal(10, (int)VrrpRejectReason.BadChecksum);
        Assert.Equal(12, (int)VrrpRejectReason.AuthFailed);
        Assert.Equal(16, (int)VrrpRejectReason.TooManyAddresses);
    }

    internal static byte[] Mutate(byte[] packet, Action<byte[]> change)
    {
        var copy = (byte[])packet.Clone();
        change(copy);
        return copy;
    }

    private static void AssertRejected(byte[] packet, VrrpReceiveFilter filter, VrrpRejectReason expected) =>
        Assert.Equal(expected, VrrpPacketCodec.TryDecode(packet, filter, out _));
}
