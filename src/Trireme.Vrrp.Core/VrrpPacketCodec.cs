using System.Buffers.Binary;

namespace Trireme.Vrrp.Core;

/// <summary>
/// Encodes and decodes whole IPv4 datagrams carrying VRRP (IP protocol 112). The host sends these bytes
/// with IP_HDRINCL (or inside a UDP datagram in loopback mode), so both transports share one codec and one
/// set of checks. Decoding never throws: a bad packet is a <see cref="VrrpRejectReason"/>.
/// </summary>
public static class VrrpPacketCodec
{
    public const byte IpProtocolVrrp = 112;
    public const int Ipv4HeaderBytes = 20;
    public const int VrrpHeaderBytes = 8;
    /// <summary>RFC 3768 keeps 8 bytes of authentication data after the addresses.</summary>
    public const int V2AuthDataBytes = 8;
    /// <summary>The count field is one byte, and keepalived's own limit per instance is far lower; 20 keeps
    /// a packet well under any MTU.</summary>
    public const int MaxAddresses = 20;
    public const int MaxPacketBytes = Ipv4HeaderBytes + VrrpHeaderBytes + (MaxAddresses * 4) + V2AuthDataBytes;
    public static readonly Ipv4 MulticastGroup = new(0xE0000012); // 224.0.0.18

    private const byte TypeAdvertisement = 1;
    private const byte RequiredTtl = 255;

    /// <summary>Writes an IPv4 header and the VRRP message. Returns the datagram length.</summary>
    public static int Encode(
        Span<byte> destination, VrrpVersion version, byte virtualRouterId, byte priority,
        int advertIntervalTicks, Ipv4 source, Ipv4 target, IReadOnlyList<Ipv4> addresses,
        VrrpAuthType authType = VrrpAuthType.None, ReadOnlySpan<byte> authData = default)
    {
        if (addresses.Count > MaxAddresses)
        {
            throw new ArgumentOutOfRangeException(nameof(addresses), $"at most {MaxAddresses} addresses");
        }

        var vrrpLength = VrrpHeaderBytes + (addresses.Count * 4) + (version == VrrpVersion.V2 ? V2AuthDataBytes : 0);
        var total = Ipv4HeaderBytes + vrrpLength;
        var packet = destination[..total];
        packet.Clear();
        WriteIpv4Header(packet, total, source, target);

        var vrrp = packet[Ipv4HeaderBytes..];
        vrrp[0] = (byte)(((int)version << 4) | TypeAdvertisement);
        vrrp[1] = virtualRouterId;
        vrrp[2] = priority;
        vrrp[3] = (byte)addresses.Count;
        if (version == VrrpVersion.V2)
        {
            vrrp[4] = (byte)authType;
            vrrp[5] = (byte)Math.Clamp(advertIntervalTicks / VrrpTicks.PerSecond, 1, 255);
        }
        else
        {
            var centiseconds = Math.Clamp(advertIntervalTicks / VrrpTicks.PerCentisecond, 0, 0x0fff);
            BinaryPrimitives.WriteUInt16BigEndian(vrrp[4..], (ushort)centiseconds);
        }

        for (var i = 0; i < addresses.Count; i++)
        {
            addresses[i].Write(vrrp[(VrrpHeaderBytes + (i * 4))..]);
        }

        if (version == VrrpVersion.V2 && authType == VrrpAuthType.SimpleText)
        {
            authData[..Math.Min(authData.Length, V2AuthDataBytes)].CopyTo(vrrp[(VrrpHeaderBytes + (addresses.Count * 4))..]);
        }

        var checksum = version == VrrpVersion.V2
            ? Checksum(0, vrrp)
            : Checksum(PseudoHeaderSum(source, target, vrrp.Length), vrrp);
        BinaryPrimitives.WriteUInt16BigEndian(vrrp[6..], checksum);
        return total;
    }

    /// <summary>Checks one received datagram against the local instance. Returns None and the advertisement
    /// when it is acceptable.</summary>
    public static VrrpRejectReason TryDecode(ReadOnlySpan<byte> datagram, VrrpReceiveFilter filter, out VrrpAdvertisement advertisement)
    {
        advertisement = default;
        var ip = CheckIpv4Header(datagram, filter, out var vrrp, out var source, out var target);
        if (ip != VrrpRejectReason.None)
        {
            return ip;
        }

        var header = CheckVrrpHeader(vrrp, filter, out var count);
        if (header != VrrpRejectReason.None)
        {
            return header;
        }

        var isV2 = filter.Version == VrrpVersion.V2;
        var expectedChecksum = isV2 ? Checksum(0, vrrp) : Checksum(PseudoHeaderSum(source, target, vrrp.Length), vrrp);
        if (expectedChecksum != 0)
        {
            return VrrpRejectReason.BadChecksum; // the sum over a message including its checksum folds to 0
        }

        int intervalTicks;
        if (isV2)
        {
            var auth = CheckV2Auth(vrrp, count, filter);
            if (auth != VrrpRejectReason.None)
            {
                return auth;
            }

            intervalTicks = vrrp[5] * VrrpTicks.PerSecond;
            if (intervalTicks != filter.AdvertIntervalTicks)
            {
                return VrrpRejectReason.AdvertIntervalMismatch; // RFC 3768 §7.1: MUST discard
            }
        }
        else
        {
            intervalTicks = (BinaryPrimitives.ReadUInt16BigEndian(vrrp[4..]) & 0x0fff) * VrrpTicks.PerCentisecond;
        }

        if (intervalTicks == 0)
        {
            return VrrpRejectReason.ZeroAdvertInterval;
        }

        var addresses = new Ipv4[count];
        for (var i = 0; i < count; i++)
        {
            addresses[i] = Ipv4.Read(vrrp[(VrrpHeaderBytes + (i * 4))..]);
        }

        advertisement = new VrrpAdvertisement(filter.Version, vrrp[1], vrrp[2], intervalTicks, source, target, addresses);
        return VrrpRejectReason.None;
    }

    private static VrrpRejectReason CheckIpv4Header(
        ReadOnlySpan<byte> datagram, VrrpReceiveFilter filter, out ReadOnlySpan<byte> vrrp, out Ipv4 source, out Ipv4 target)
    {
        vrrp = default;
        source = default;
        target = default;
        if (datagram.Length < Ipv4HeaderBytes)
        {
            return VrrpRejectReason.TooShort;
        }

        if (datagram[0] >> 4 != 4)
        {
            return VrrpRejectReason.NotIpv4;
        }

        var headerBytes = (datagram[0] & 0x0f) * 4;
        var totalBytes = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (headerBytes < Ipv4HeaderBytes || totalBytes < headerBytes || datagram.Length < headerBytes)
        {
            return VrrpRejectReason.BadIpHeader;
        }

        if (datagram.Length < totalBytes)
        {
            return VrrpRejectReason.TooShort;
        }

        if (datagram[9] != IpProtocolVrrp)
        {
            return VrrpRejectReason.NotVrrpProtocol;
        }

        if (filter.RequireTtl255 && datagram[8] != RequiredTtl)
        {
            return VrrpRejectReason.TtlNot255; // RFC 5798 §7.1: a packet that crossed a router is forged
        }

        source = Ipv4.Read(datagram[12..]);
        target = Ipv4.Read(datagram[16..]);
        vrrp = datagram[headerBytes..totalBytes];
        return VrrpRejectReason.None;
    }

    private static VrrpRejectReason CheckVrrpHeader(ReadOnlySpan<byte> vrrp, VrrpReceiveFilter filter, out int count)
    {
        count = 0;
        if (vrrp.Length < VrrpHeaderBytes)
        {
            return VrrpRejectReason.TooShort;
        }

        if (vrrp[0] >> 4 != (int)filter.Version)
        {
            return VrrpRejectReason.BadVersion;
        }

        if ((vrrp[0] & 0x0f) != TypeAdvertisement)
        {
            return VrrpRejectReason.BadType;
        }

        if (vrrp[1] != filter.VirtualRouterId)
        {
            return VrrpRejectReason.OtherVirtualRouterId;
        }

        count = vrrp[3];
        if (count > MaxAddresses)
        {
            return VrrpRejectReason.TooManyAddresses;
        }

        var expected = VrrpHeaderBytes + (count * 4) + (filter.Version == VrrpVersion.V2 ? V2AuthDataBytes : 0);
        return vrrp.Length == expected ? VrrpRejectReason.None : VrrpRejectReason.AddressCountMismatch;
    }

    private static VrrpRejectReason CheckV2Auth(ReadOnlySpan<byte> vrrp, int count, VrrpReceiveFilter filter)
    {
        if (vrrp[4] != (byte)filter.AuthType)
        {
            return VrrpRejectReason.AuthTypeMismatch;
        }

        if (filter.AuthType != VrrpAuthType.SimpleText)
        {
            return VrrpRejectReason.None;
        }

        Span<byte> expected = stackalloc byte[V2AuthDataBytes];
        expected.Clear();
        filter.AuthData.AsSpan(0, Math.Min(filter.AuthData.Length, V2AuthDataBytes)).CopyTo(expected);
        return vrrp.Slice(VrrpHeaderBytes + (count * 4), V2AuthDataBytes).SequenceEqual(expected)
            ? VrrpRejectReason.None
            : VrrpRejectReason.AuthFailed;
    }

    private static void WriteIpv4Header(Span<byte> packet, int total, Ipv4 source, Ipv4 target)
    {
        packet[0] = 0x45;
        packet[1] = 0xc0; // DSCP CS6 (network control), as keepalived sends
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)total);
        packet[8] = RequiredTtl;
        packet[9] = IpProtocolVrrp;
        source.Write(packet[12..]);
        target.Write(packet[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], Checksum(0, packet[..Ipv4HeaderBytes]));
    }

    /// <summary>RFC 5798 §5.2.8: the v3 checksum covers an IPv4 pseudo-header (source, destination, zero,
    /// protocol, VRRP length) before the message.</summary>
    private static uint PseudoHeaderSum(Ipv4 source, Ipv4 target, int vrrpLength) =>
        (source.Value >> 16) + (source.Value & 0xffff) + (target.Value >> 16) + (target.Value & 0xffff)
        + IpProtocolVrrp + (uint)vrrpLength;

    /// <summary>The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words.</summary>
    public static ushort Checksum(uint initialSum, ReadOnlySpan<byte> data)
    {
        var sum = initialSum;
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
