using System.Globalization;
using System.Text;
using Trireme.Vrrp.Core;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Trireme.Vrrp;

/// <summary>How adverts travel and where the VIP lives.</summary>
public enum VrrpMode
{
    /// <summary>Raw IP protocol 112 on a NIC, VIP via netlink, gratuitous ARP. Needs root (CAP_NET_RAW/ADMIN).</summary>
    Kernel,

    /// <summary>Development without root: adverts as UDP on 127.x, the VIP a 127.x address only the master
    /// "holds" (announced through events so the balancer binds its frontend there).</summary>
    Loopback,
}

public enum VrrpCheckKind
{
    /// <summary>The kubeadm HA guide's check_apiserver: HTTPS GET /readyz on the local API server.</summary>
    ApiServer,
    Script,
}

public sealed record VrrpCheckConfig(
    string Name, VrrpCheckKind Kind, Uri? Url, bool InsecureSkipVerify, string? Script,
    TimeSpan Interval, TimeSpan Timeout, int Weight, int Fall, int Rise);

/// <summary>One validated instance: keepalived's vrrp_instance in Trireme's words.</summary>
public sealed record VrrpConfig(
    string Name,
    VrrpMode Mode,
    string Interface,
    byte VirtualRouterId,
    byte Priority,
    VrrpVersion Version,
    int AdvertIntervalTicks,
    string? AuthPass,
    Ipv4? SourceIp,
    IReadOnlyList<(Ipv4 Address, int PrefixLength)> VirtualIps,
    IReadOnlyList<Ipv4> UnicastPeers,
    bool Preempt,
    int PreemptDelayTicks,
    int GarpMasterDelayTicks,
    int GarpMasterRepeat,
    string? Notify,
    int LoopbackPort,
    IReadOnlyList<VrrpCheckConfig> Track,
    bool TieBreak = true)
{
    public VrrpRouterOptions ToRouterOptions(Ipv4 primaryAddress) => new()
    {
        VirtualRouterId = VirtualRouterId,
        Priority = Priority,
        Version = Version,
        AdvertIntervalTicks = AdvertIntervalTicks,
        PrimaryAddress = primaryAddress,
        VirtualAddresses = VirtualIps.Select(v => v.Address).ToArray(),
        Preempt = Preempt,
        PreemptDelayTicks = PreemptDelayTicks,
        AuthType = AuthPass is null ? VrrpAuthType.None : VrrpAuthType.SimpleText,
        AuthData = AuthPass is null ? [] : AuthBytes(AuthPass),
        GarpMasterDelayTicks = GarpMasterDelayTicks,
        GarpMasterRepeat = GarpMasterRepeat,
        Tracks = Track.Select(t => new VrrpTrackOptions(t.Name, t.Weight, t.Fall, t.Rise)).ToArray(),
        TieBreakDelayTicks = TieBreakDelayTicks(primaryAddress),
    };

    /// <summary>Upper bound of one tie-break step: long enough to cover scheduling jitter on a busy
    /// host, short enough not to matter against Master_Down_Interval.</summary>
    public const int MaxTieBreakStepTicks = 20;

    /// <summary>
    /// With unicast peers every router knows the others' addresses, so equal-priority backups can be
    /// ordered: each peer with a higher address adds one step (a tenth of the interval, at most 20 ms).
    /// The highest address fires first and its advert stops the rest (see VrrpRouterOptions). With
    /// multicast the peers are unknown and the RFC timer is used as is.
    /// </summary>
    public int TieBreakDelayTicks(Ipv4 primaryAddress)
    {
        if (!TieBreak || UnicastPeers.Count == 0)
        {
            return 0;
        }

        var step = Math.Clamp(AdvertIntervalTicks / 10, 1, MaxTieBreakStepTicks);
        return Math.Min(AdvertIntervalTicks, UnicastPeers.Count(p => p > primaryAddress) * step);
    }

    /// <summary>keepalived uses at most the first 8 bytes of auth_pass, zero padded.</summary>
    public static byte[] AuthBytes(string pass)
    {
        var bytes = new byte[VrrpPacketCodec.V2AuthDataBytes];
        var raw = Encoding.ASCII.GetBytes(pass);
        raw.AsSpan(0, Math.Min(raw.Length, bytes.Length)).CopyTo(bytes);
        return bytes;
    }
}

/// <summary>A config that cannot run; the message names the offending field.</summary>
public sealed class VrrpConfigException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
}

/// <summary>Reads the YAML file. Every field keeps keepalived's meaning; unknown fields are refused so that
/// a typo (advertInterval vs advert_int) is not silently ignored.</summary>
public static class VrrpConfigLoader
{
    public static VrrpConfig Load(string path) => Parse(File.ReadAllText(path));

    public static VrrpConfig Parse(string yaml)
    {
        RawConfig raw;
        try
        {
            raw = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build()
                .Deserialize<RawConfig?>(yaml) ?? new RawConfig();
        }
        catch (YamlException e)
        {
            var inner = e.InnerException?.Message ?? e.Message;
            var field = ExtractProperty(inner) ?? "config";
            throw new VrrpConfigException(field, $"line {e.Start.Line}: {inner}");
        }

        return Validate(raw);
    }

    private static string? ExtractProperty(string message)
    {
        const string Marker = "Property '";
        var start = message.IndexOf(Marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += Marker.Length;
        var end = message.IndexOf('\'', start);
        return end > start ? message[start..end] : null;
    }

    private static VrrpConfig Validate(RawConfig raw)
    {
        var mode = raw.Mode?.ToLowerInvariant() switch
        {
            null or "kernel" => VrrpMode.Kernel,
            "loopback" => VrrpMode.Loopback,
            _ => throw new VrrpConfigException("mode", "must be kernel or loopback"),
        };
        var version = raw.Version switch
        {
            null or 3 => VrrpVersion.V3,
            2 => VrrpVersion.V2,
            _ => throw new VrrpConfigException("version", "must be 2 or 3"),
        };
        if (mode == VrrpMode.Kernel && string.IsNullOrWhiteSpace(raw.Interface))
        {
            throw new VrrpConfigException("interface", "is required in kernel mode");
        }

        var vrid = raw.VirtualRouterId ?? throw new VrrpConfigException("virtualRouterId", "is required");
        if (vrid is < 1 or > 255)
        {
            throw new VrrpConfigException("virtualRouterId", "must be 1-255");
        }

        var priority = raw.Priority ?? 100;
        if (priority is < 1 or > 255)
        {
            throw new VrrpConfigException("priority", "must be 1-255 (255 only for the address owner)");
        }

        var interval = ParseInterval(raw.AdvertInterval ?? 1m, version);
        if (raw.AuthPass is not null && version == VrrpVersion.V3)
        {
            throw new VrrpConfigException("authPass", "RFC 5798 removed authentication; use version 2 for authPass");
        }

        if (raw.AuthPass is { Length: 0 or > 8 })
        {
            throw new VrrpConfigException("authPass", "must be 1-8 characters (keepalived uses 8 bytes)");
        }

        var vips = ParseVips(raw.VirtualIps);
        var peers = (raw.UnicastPeers ?? []).Select(p => Ipv4.TryParse(p, out var a) ? a
            : throw new VrrpConfigException("unicastPeers", $"'{p}' is not an IPv4 address")).ToArray();
        if (mode == VrrpMode.Loopback && peers.Length == 0)
        {
            throw new VrrpConfigException("unicastPeers", "loopback mode needs the other instances' 127.x addresses");
        }

        Ipv4? source = null;
        if (raw.SourceIp is not null)
        {
            source = Ipv4.TryParse(raw.SourceIp, out var s) ? s : throw new VrrpConfigException("sourceIp", "is not an IPv4 address");
        }
        else if (mode == VrrpMode.Loopback)
        {
            throw new VrrpConfigException("sourceIp", "loopback mode needs this instance's own 127.x address");
        }

        return new VrrpConfig(
            raw.Name ?? $"VI_{vrid}", mode, raw.Interface ?? "lo", (byte)vrid, (byte)priority, version, interval,
            raw.AuthPass, source, vips, peers, raw.Preempt ?? true,
            Seconds(raw.PreemptDelay ?? 0, "preemptDelay", 0, 1000),
            Seconds(raw.GarpMasterDelay ?? 5, "garpMasterDelay", 0, 1000),
            Range(raw.GarpMasterRepeat ?? 5, "garpMasterRepeat", 1, 100),
            raw.Notify, Range(raw.LoopbackPort ?? 5112, "loopbackPort", 1, 65535),
            (raw.Track ?? []).Select((t, i) => ParseCheck(t, i)).ToArray(),
            raw.TieBreak ?? true);
    }

    private static int ParseInterval(decimal seconds, VrrpVersion version)
    {
        // v2 carries whole seconds; v3 carries centiseconds (12 bits, up to 40.95 s).
        var ticks = seconds * VrrpTicks.PerSecond;
        var unit = version == VrrpVersion.V2 ? VrrpTicks.PerSecond : VrrpTicks.PerCentisecond;
        var max = version == VrrpVersion.V2 ? 255 * VrrpTicks.PerSecond : 4095 * VrrpTicks.PerCentisecond;
        if (ticks < unit || ticks > max || ticks % unit != 0)
        {
            throw new VrrpConfigException("advertInterval", version == VrrpVersion.V2
                ? "must be whole seconds 1-255 for version 2"
                : "must be 0.01-40.95 seconds in steps of 0.01 for version 3");
        }

        return (int)ticks;
    }

    private static (Ipv4, int)[] ParseVips(List<string>? raw)
    {
        if (raw is null || raw.Count == 0)
        {
            throw new VrrpConfigException("virtualIps", "at least one address is required");
        }

        if (raw.Count > VrrpPacketCodec.MaxAddresses)
        {
            throw new VrrpConfigException("virtualIps", $"at most {VrrpPacketCodec.MaxAddresses} addresses");
        }

        return raw.Select(text =>
        {
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            var prefix = 32;
            if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix is < 1 or > 32))
            {
                throw new VrrpConfigException("virtualIps", $"'{text}' has a bad prefix length");
            }

            var address = slash >= 0 ? text[..slash] : text;
            return Ipv4.TryParse(address, out var a) ? (a, prefix) : throw new VrrpConfigException("virtualIps", $"'{text}' is not an IPv4 address");
        }).ToArray();
    }

    private static VrrpCheckConfig ParseCheck(RawCheck raw, int index)
    {
        var field = $"track[{index}]";
        var kind = raw.Type?.ToLowerInvariant() switch
        {
            "apiserver" => VrrpCheckKind.ApiServer,
            "script" => VrrpCheckKind.Script,
            _ => throw new VrrpConfigException($"{field}.type", "must be apiserver or script"),
        };
        Uri? url = null;
        if (kind == VrrpCheckKind.ApiServer)
        {
            var text = raw.Url ?? "https://127.0.0.1:6443/readyz";
            if (!Uri.TryCreate(text, UriKind.Absolute, out url) || (url.Scheme != "https" && url.Scheme != "http"))
            {
                throw new VrrpConfigException($"{field}.url", $"'{text}' is not an http(s) URL");
            }
        }
        else if (string.IsNullOrWhiteSpace(raw.Script))
        {
            throw new VrrpConfigException($"{field}.script", "is required for a script check");
        }

        var weight = raw.Weight ?? 0;
        if (weight is < -253 or > 253)
        {
            throw new VrrpConfigException($"{field}.weight", "must be -253..253");
        }

        return new VrrpCheckConfig(
            raw.Name ?? $"{kind}-{index}".ToLowerInvariant(), kind, url, raw.InsecureSkipVerify ?? false, raw.Script,
            TimeSpan.FromMilliseconds(Seconds(raw.Interval ?? 2, $"{field}.interval", 0.01m, 3600)),
            TimeSpan.FromMilliseconds(Seconds(raw.Timeout ?? 2, $"{field}.timeout", 0.01m, 3600)),
            weight, Range(raw.Fall ?? 1, $"{field}.fall", 1, 100), Range(raw.Rise ?? 1, $"{field}.rise", 1, 100));
    }

    private static int Seconds(decimal value, string field, decimal min, decimal max) =>
        value >= min && value <= max ? (int)(value * VrrpTicks.PerSecond)
            : throw new VrrpConfigException(field, $"must be {min}-{max} seconds");

    private static int Range(int value, string field, int min, int max) =>
        value >= min && value <= max ? value : throw new VrrpConfigException(field, $"must be {min}-{max}");

    // YamlDotNet fills these by name; nullable so that "missing" and "zero" differ.
    private sealed class RawConfig
    {
        public string? Name { get; set; }
        public string? Mode { get; set; }
        public string? Interface { get; set; }
        public int? VirtualRouterId { get; set; }
        public int? Priority { get; set; }
        public decimal? AdvertInterval { get; set; }
        public int? Version { get; set; }
        public string? AuthPass { get; set; }
        public string? SourceIp { get; set; }
        public List<string>? VirtualIps { get; set; }
        public List<string>? UnicastPeers { get; set; }
        public bool? Preempt { get; set; }
        public decimal? PreemptDelay { get; set; }
        public decimal? GarpMasterDelay { get; set; }
        public int? GarpMasterRepeat { get; set; }
        public string? Notify { get; set; }
        public int? LoopbackPort { get; set; }
        public List<RawCheck>? Track { get; set; }
        public bool? TieBreak { get; set; }
    }

    private sealed class RawCheck
    {
        public string? Name { get; set; }
        public string? Type { get; set; }
        public string? Url { get; set; }
        public bool? InsecureSkipVerify { get; set; }
        public string? Script { get; set; }
        public decimal? Interval { get; set; }
        public decimal? Timeout { get; set; }
        public int? Weight { get; set; }
        public int? Fall { get; set; }
        public int? Rise { get; set; }
    }
}
