// Proves the YAML configuration: keepalived's concepts parse into a validated instance, and every kind of
// invalid config is refused with an error naming the field (including unknown fields, so a typo is not
// silently ignored). Also drives `trireme vip --check-config` end to end through the CLI parser.
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

public sealed class ConfigTests
{
    private const string Valid = """
        name: api-vip
        interface: eth0
        virtualRouterId: 51
        priority: 150
        advertInterval: 1
        version: 2
        authPass: secret12
        virtualIps: [10.77.1.100/24, 10.77.1.101]
        unicastPeers: [10.77.1.12, 10.77.1.13]
        preempt: false
        preemptDelay: 30
        garpMasterDelay: 5
        garpMasterRepeat: 3
        notify: /usr/local/bin/vip-notify
        track:
          - type: apiserver
            url: https://127.0.0.1:6443/readyz
            insecureSkipVerify: true
            interval: 3
            timeout: 2
            weight: -50
            fall: 10
            rise: 2
          - type: script
            script: "pidof haproxy"
            weight: 0
        """;

    [Fact]
    public void Keepalived_concepts_parse_into_a_validated_instance()
    {
        var config = VrrpConfigLoader.Parse(Valid);
        Assert.Equal("api-vip", config.Name);
        Assert.Equal(VrrpVersion.V2, config.Version);
        Assert.Equal(1000, config.AdvertIntervalTicks);
        Assert.Equal([(Ipv4.Parse("10.77.1.100"), 24), (Ipv4.Parse("10.77.1.101"), 32)], config.VirtualIps);
        Assert.Equal(2, config.UnicastPeers.Count);
        Assert.False(config.Preempt);
        Assert.Equal(30_000, config.PreemptDelayTicks);
        Assert.Equal(3, config.GarpMasterRepeat);
        Assert.Equal(VrrpCheckKind.ApiServer, config.Track[0].Kind);
        Assert.Equal(-50, config.Track[0].Weight);
        Assert.Equal(10, config.Track[0].Fall);
        Assert.Equal(VrrpCheckKind.Script, config.Track[1].Kind);

        var options = config.ToRouterOptions(Ipv4.Parse("10.77.1.11"));
        Assert.Equal(VrrpAuthType.SimpleText, options.AuthType);
        Assert.Equal("secret12"u8.ToArray(), options.AuthData);
    }

    [Fact]
    public void Unicast_tie_break_orders_equal_backups_by_address()
    {
        var config = VrrpConfigLoader.Parse("interface: eth0\nvirtualRouterId: 7\nadvertInterval: 0.1\nvirtualIps: [10.77.1.100]\n"
            + "unicastPeers: [10.77.1.11, 10.77.1.12, 10.77.1.13]\n");
        Assert.Equal(20, config.TieBreakDelayTicks(Ipv4.Parse("10.77.1.11")));
        Assert.Equal(10, config.TieBreakDelayTicks(Ipv4.Parse("10.77.1.12")));
        Assert.Equal(0, config.TieBreakDelayTicks(Ipv4.Parse("10.77.1.13")));
        Assert.Equal(0, (config with { TieBreak = false }).TieBreakDelayTicks(Ipv4.Parse("10.77.1.11")));
        Assert.Equal(0, (config with { UnicastPeers = [] }).TieBreakDelayTicks(Ipv4.Parse("10.77.1.11")));
    }

    [Fact]
    public void V3_accepts_centisecond_intervals()
    {
        var config = VrrpConfigLoader.Parse("interface: eth0\nvirtualRouterId: 7\nadvertInterval: 0.1\nvirtualIps: [10.77.1.100]\n");
        Assert.Equal(VrrpVersion.V3, config.Version);
        Assert.Equal(100, config.AdvertIntervalTicks);
        Assert.True(config.Preempt);
    }

    [Theory]
    [InlineData("virtualRouterId: 300", "virtualRouterId")]
    [InlineData("priority: 0", "priority")]
    [InlineData("priority: 256", "priority")]
    [InlineData("advertInterval: 0.5", "advertInterval")] // v2 needs whole seconds
    [InlineData("version: 4", "version")]
    [InlineData("authPass: waytoolongpassword", "authPass")]
    [InlineData("virtualIps: [10.77.1.300]", "virtualIps")]
    [InlineData("virtualIps: [10.77.1.100/40]", "virtualIps")]
    [InlineData("unicastPeers: [nope]", "unicastPeers")]
    [InlineData("advert_int: 1", "advert_int")] // keepalived spelling is refused, not ignored
    [InlineData("preemptDelay: -1", "preemptDelay")]
    [InlineData("track: [{type: ping}]", "track[0].type")]
    [InlineData("track: [{type: script}]", "track[0].script")]
    [InlineData("track: [{type: apiserver, url: 'ftp://x'}]", "track[0].url")]
    [InlineData("mode: magic", "mode")]
    public void Invalid_configs_are_refused_naming_the_field(string change, string field)
    {
        var baseLines = new Dictionary<string, string>
        {
            ["interface"] = "eth0", ["virtualRouterId"] = "51", ["priority"] = "100", ["advertInterval"] = "1",
            ["version"] = "2", ["virtualIps"] = "[10.77.1.100]",
        };
        var key = change[..change.IndexOf(':', StringComparison.Ordinal)];
        baseLines.Remove(key);
        var yaml = string.Join('\n', baseLines.Select(kv => $"{kv.Key}: {kv.Value}")) + "\n" + change + "\n";

        var error = Assert.Throws<VrrpConfigException>(() => VrrpConfigLoader.Parse(yaml));
        Assert.Equal(field, error.Field);
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_fields_are_named()
    {
        Assert.Equal("virtualRouterId", Assert.Throws<VrrpConfigException>(() => VrrpConfigLoader.Parse("interface: eth0\nvirtualIps: [10.77.1.1]")).Field);
        Assert.Equal("interface", Assert.Throws<VrrpConfigException>(() => VrrpConfigLoader.Parse("virtualRouterId: 1\nvirtualIps: [10.77.1.1]")).Field);
        Assert.Equal("virtualIps", Assert.Throws<VrrpConfigException>(() => VrrpConfigLoader.Parse("interface: eth0\nvirtualRouterId: 1")).Field);
        Assert.Equal("authPass", Assert.Throws<VrrpConfigException>(() =>
            VrrpConfigLoader.Parse("interface: eth0\nvirtualRouterId: 1\nversion: 3\nauthPass: x\nvirtualIps: [10.77.1.1]")).Field);
        Assert.Equal("sourceIp", Assert.Throws<VrrpConfigException>(() =>
            VrrpConfigLoader.Parse("mode: loopback\nvirtualRouterId: 1\nunicastPeers: [127.0.0.2]\nvirtualIps: [127.0.0.100]")).Field);
    }

    [Fact]
    public void Check_config_command_exits_0_for_valid_and_2_for_invalid()
    {
        var dir = Directory.CreateTempSubdirectory("trv-config-");
        try
        {
            var good = Path.Combine(dir.FullName, "good.yaml");
            var bad = Path.Combine(dir.FullName, "bad.yaml");
            File.WriteAllText(good, Valid);
            File.WriteAllText(bad, Valid.Replace("priority: 150", "priority: 999", StringComparison.Ordinal));
            Assert.Equal(0, Trireme.Cli.Program.BuildRoot().Parse(["vip", "--config", good, "--check-config"]).Invoke());
            Assert.Equal(2, Trireme.Cli.Program.BuildRoot().Parse(["vip", "--config", bad, "--check-config"]).Invoke());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
