// Proves the configuration contract: the issue's example parses exactly as written (with its
// password file beside it) into the documented defaults; each invalid file in a table is refused with
// the expected field, line and reason; and a seeded fuzzer that mutates valid files never gets
// anything but a parsed config or a ConfigException out of the parser.
using Trireme.Balancer.Config;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Tests;

public sealed class ConfigTests : IDisposable
{
    private const string IssueExample = """
        frontends:
          - name: kube-apiserver
            bind: 127.0.0.1:8443
            backend: apiservers
        backends:
          - name: apiservers
            balance: roundrobin
            stickOnSource: { expire: 30m, size: 200000 }
            check: { type: tcp, inter: 2s, rise: 2, fall: 3 }
            servers:
              - { name: apiserver1, address: 127.0.0.11:6443 }
              - { name: apiserver2, address: 127.0.0.12:6443 }
              - { name: apiserver3, address: 127.0.0.13:6443 }
        stats:
          bind: 127.0.0.1:9090
          auth: { user: admin, passwordFile: ./stats.pass }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("trireme-lb-config-").FullName;

    public ConfigTests()
    {
        File.WriteAllText(Path.Combine(_dir, "stats.pass"), "pw\n");
        using var keyless = Trireme.Testing.TestPki.CreateAuthority("keyless");
        File.WriteAllText(Path.Combine(_dir, "nokey.crt"), keyless.ExportCertificatePem());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_issue_example_parses_as_written()
    {
        var path = Path.Combine(_dir, "lb.yaml");
        File.WriteAllText(path, IssueExample);
        var config = ConfigParser.ParseFile(path);
        var frontend = Assert.Single(config.Frontends);
        Assert.Equal(("kube-apiserver", "127.0.0.1:8443", "apiservers"), (frontend.Name, frontend.Bind.ToString(), frontend.Backend));
        var backend = Assert.Single(config.Backends);
        Assert.Equal(BalanceAlgorithm.RoundRobin, backend.Balance);
        Assert.Equal(new StickConfig(TimeSpan.FromMinutes(30), 200000), backend.Stick);
        Assert.Equal(CheckType.Tcp, backend.Check!.Type);
        Assert.Equal((TimeSpan.FromSeconds(2), 2, 3), (backend.Check.Inter, backend.Check.Rise, backend.Check.Fall));
        Assert.Equal(backend.Check.Inter, backend.Check.FastInter);
        Assert.Equal(["127.0.0.11:6443", "127.0.0.12:6443", "127.0.0.13:6443"], backend.Servers.Select(s => s.Address.ToString()));
        Assert.Equal(("admin", "pw"), (config.Stats!.User, config.Stats.Password));
        Assert.Equal((3, true, TimeSpan.FromSeconds(5)), (backend.Retries, backend.Redispatch, backend.Timeouts.Connect));
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        { "frontends: [", "(syntax)", "did not find expected" },
        { "backends: []\nfrontends: []", "backends", "must list at least one entry" },
        { "colour: blue", "colour", "unknown field" },
        { Replace("inter: 2s", "inter: 2x"), "backends[0].check.inter", "'2x' is not a duration" },
        { Replace("inter: 2s", "inter: 0s"), "backends[0].check.inter", "is outside" },
        { Replace("rise: 2", "rise: many"), "backends[0].check.rise", "'many' is not a whole number" },
        { Replace("fall: 3", "fal: 3"), "backends[0].check.fal", "unknown field" },
        { Replace("balance: roundrobin", "balance: random"), "backends[0].balance", "'random' is not roundrobin, leastconn or source" },
        { Replace("127.0.0.12:6443", "127.0.0.12"), "backends[0].servers[1].address", "is not ADDRESS:PORT" },
        { Replace("127.0.0.12:6443", "apiserver.example:6443"), "backends[0].servers[1].address", "is not ADDRESS:PORT" },
        { Replace("127.0.0.12:6443", "127.0.0.12:0"), "backends[0].servers[1].address", "is not ADDRESS:PORT" },
        { Replace("name: apiserver2", "name: apiserver1"), "backends[0].servers[1].name", "already the name of another server" },
        { Replace("backend: apiservers", "backend: nowhere"), "frontends[0].backend", "no backend is named 'nowhere'" },
        { Replace("bind: 127.0.0.1:9090", "bind: 127.0.0.1:8443"), "stats.bind", "already bound by a frontend" },
        { Replace("passwordFile: ./stats.pass", "passwordFile: ./missing.pass"), "stats.auth.passwordFile", "does not exist" },
        { Replace("auth: { user: admin, passwordFile: ./stats.pass }", "auth: { user: admin }"), "stats.auth.password", "exactly one of password or passwordFile" },
        { Replace("  auth: { user: admin, passwordFile: ./stats.pass }", ""), "stats.auth", "never runs without credentials" },
        { Replace("type: tcp,", "type: tcp, path: /readyz,"), "backends[0].check.path", "applies only to type http or https" },
        { Replace("type: tcp,", "type: http, path: readyz,"), "backends[0].check.path", "must start with '/'" },
        { Replace("type: tcp,", "type: http, verify: true,"), "backends[0].check.verify", "applies only to type https" },
        { Replace("type: tcp,", "type: https, caFile: ./missing-ca.crt,"), "backends[0].check.caFile", "does not exist" },
        { Replace("type: tcp,", "type: tcp, clientCertFile: ./nokey.crt,"), "backends[0].check.clientCertFile", "applies only to type https" },
        { Replace("type: tcp,", "type: https, clientKeyFile: ./client.key,"), "backends[0].check.clientKeyFile", "needs clientCertFile" },
        { Replace("type: tcp,", "type: https, clientCertFile: ./missing.crt,"), "backends[0].check.clientCertFile", "does not exist" },
        { Replace("type: tcp,", "type: https, clientCertFile: ./nokey.crt,"), "backends[0].check.clientCertFile", "no certificate with its private key" },
        { Replace("size: 200000", "size: -1"), "backends[0].stickOnSource.size", "is outside" },
        { Replace("- name: apiservers", "- name: \"api servers\""), "backends[0].name", "must be 1-64 characters" },
        { Replace("    servers:\n      - { name: apiserver1, address: 127.0.0.11:6443 }\n      - { name: apiserver2, address: 127.0.0.12:6443 }\n      - { name: apiserver3, address: 127.0.0.13:6443 }\n", ""), "backends[0].servers", "is required" },
        { Replace("{ name: apiserver1, address: 127.0.0.11:6443 }", "{ name: apiserver1, address: 127.0.0.11:6443, weight: 300 }"), "backends[0].servers[0].weight", "outside 0..256" },
        { "global: { maxconn: 0 }\n" + IssueExample, "global.maxconn", "outside 1..1000000" },
    };

    private static string Replace(string from, string to)
    {
        var text = IssueExample.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(IssueExample, text);
        return text;
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void An_invalid_config_is_refused_naming_field_and_line(string yaml, string field, string reason)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigParser.Parse(yaml, _dir));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("line ", error.Message, StringComparison.Ordinal);
        if (field == "(syntax)")
        {
            return;
        }

        Assert.Equal(field, error.Field);

        // The line named holds the field (or, for a missing field, its parent mapping).
        var line = yaml.Split('\n')[error.Line - 1];
        var last = field.Split('.')[^1].Split('[')[0];
        Assert.True(line.Contains(last, StringComparison.Ordinal) || field.EndsWith("servers", StringComparison.Ordinal)
            || reason.Contains("required", StringComparison.Ordinal) || reason.Contains("exactly one", StringComparison.Ordinal)
            || reason.Contains("credentials", StringComparison.Ordinal) || field == "(syntax)" || field == "backends",
            $"line {error.Line} '{line}' does not show {field}");
    }

    [Fact]
    public void Line_numbers_point_at_the_offending_value()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigParser.Parse(Replace("inter: 2s", "inter: soon"), _dir));
        Assert.Equal(9, error.Line);
        Assert.Equal("line 9: backends[0].check.inter: 'soon' is not a duration (use e.g. 100ms, 2s, 30m, 1h)", error.Message);
    }

    [Theory]
    [InlineData("100ms", 100)]
    [InlineData("2s", 2000)]
    [InlineData("30m", 1_800_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("250", 250)]
    [InlineData("1500us", 1.5)]
    public void Durations_use_haproxy_units(string text, double milliseconds)
    {
        Assert.True(YamlFields.TryParseDuration(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    /// <summary>The parser's fuzz target: seeded random edits (delete, duplicate, swap or replace a
    /// character or a line, insert YAML punctuation) of valid files. TRIREME_FUZZ_ITERATIONS raises the
    /// default count; a failing seed prints the input so it can become a table case above.</summary>
    [Fact]
    public void Fuzzed_configs_parse_or_are_refused_cleanly()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("TRIREME_FUZZ_ITERATIONS"), out var n) ? n : 3000;
        var random = new Random(20261122);
        const string Alphabet = "{}[]:,-#&*!|>'\"%@` \n\t0123456789abcxyz.:/\\";
        string[] seeds = [IssueExample, IssueExample.Replace("type: tcp", "type: https, path: /readyz, verify: false", StringComparison.Ordinal)];
        for (var i = 0; i < iterations; i++)
        {
            var text = seeds[random.Next(seeds.Length)].ToCharArray().ToList();
            for (var edits = random.Next(1, 6); edits > 0 && text.Count > 0; edits--)
            {
                var at = random.Next(text.Count);
                switch (random.Next(4))
                {
                    case 0: text.RemoveAt(at); break;
                    case 1: text.Insert(at, Alphabet[random.Next(Alphabet.Length)]); break;
                    case 2: text[at] = Alphabet[random.Next(Alphabet.Length)]; break;
                    default: text.InsertRange(at, text.Skip(random.Next(text.Count)).Take(random.Next(1, 40)).ToList()); break;
                }
            }

            var yaml = new string(text.ToArray());
            try
            {
                ConfigParser.Parse(yaml, _dir);
            }
            catch (ConfigException)
            {
                // A clean refusal.
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i}: {e.GetType().Name}: {e.Message}\n--- input ---\n{yaml}");
            }
        }
    }
}
