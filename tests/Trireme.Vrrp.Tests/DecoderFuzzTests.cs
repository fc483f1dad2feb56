// A seeded fuzz target for the VRRP decoder: random bytes, truncations and bit flips of valid v2/v3
// packets must never throw, and a flipped packet is accepted only if it still decodes consistently.
// TRIREME_FUZZ_ITERATIONS raises the iteration count; a failing seed is printed for replay.
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

public sealed class DecoderFuzzTests
{
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("TRIREME_FUZZ_ITERATIONS"), out var n) ? n : 200_000;

    [Fact]
    public void Decoder_never_throws_and_never_accepts_garbage_for_another_router()
    {
        var random = new Random(20261122);
        var filters = new[]
        {
            new VrrpReceiveFilter(VrrpVersion.V3, 51, VrrpAuthType.None, [], 100),
            new VrrpReceiveFilter(VrrpVersion.V2, 51, VrrpAuthType.SimpleText, "secret12"u8.ToArray(), 1000),
        };
        var valid = new[] { Encode(VrrpVersion.V3), Encode(VrrpVersion.V2) };
        var counters = new VrrpRejectCounters();
        var accepted = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var which = random.Next(2);
            var packet = Mutant(random, valid[which]);
            var reason = VrrpPacketCodec.TryDecode(packet, filters[which], out var advert);
            counters.Add(reason);
            if (reason == VrrpRejectReason.None)
            {
                accepted++;
                Assert.Equal(51, advert.VirtualRouterId);
                Assert.True(advert.AdvertIntervalTicks > 0);
                Assert.True(advert.Addresses.Count <= VrrpPacketCodec.MaxAddresses);
            }
        }

        // Most mutants must be caught: checksum and header checks, not luck.
        Assert.True(counters.Total > Iterations / 2, $"only {counters.Total} of {Iterations} rejected");
        Assert.True(accepted > 0);
    }

    private static byte[] Encode(VrrpVersion version)
    {
        var buffer = new byte[VrrpPacketCodec.MaxPacketBytes];
        var n = VrrpPacketCodec.Encode(buffer, version, 51, 100, version == VrrpVersion.V2 ? 1000 : 100,
            Ipv4.Parse("10.77.1.11"), VrrpPacketCodec.MulticastGroup, [Ipv4.Parse("10.77.1.100")],
            version == VrrpVersion.V2 ? VrrpAuthType.SimpleText : VrrpAuthType.None, "secret12"u8);
        return buffer[..n];
    }

    private static byte[] Mutant(Random random, byte[] valid)
    {
        switch (random.Next(5))
        {
            case 0:
                var noise = new byte[random.Next(0, 80)];
                random.NextBytes(noise);
                return noise;
            case 1:
                return valid[..random.Next(valid.Length)];
            case 2:
                var longer = new byte[valid.Length + random.Next(1, 40)];
                valid.CopyTo(longer, 0);
                random.NextBytes(longer.AsSpan(valid.Length));
                return longer;
            default:
                var flipped = (byte[])valid.Clone();
                var flips = random.Next(1, 4);
                for (var f = 0; f < flips; f++)
                {
                    flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                }

                return flipped; // still valid when only the IP TOS or ID bytes flipped
        }
    }
}
