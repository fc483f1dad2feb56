// Proves the stats endpoint shows what operators look for and is never open: every path answers 401
// without the configured credentials (and with wrong ones); the HTML names frontends, backends and
// servers with their status and last check; the CSV parses with HAProxy's column names and its numbers
// match the traffic sent; the JSON parses; /metrics is Prometheus text; POST /admin drains a server.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static Trireme.Balancer.Tests.LbTestHost;

namespace Trireme.Balancer.Tests;

public sealed class StatsTests
{
    private static string Yaml(TestBackend a, int deadPort) => $$"""
        frontends:
          - { name: fe, bind: "127.0.0.1:0", backend: be }
        backends:
          - name: be
            check: { type: tcp, inter: 100ms, rise: 2, fall: 2, timeout: 2s }
            stickOnSource: { expire: 1m, size: 100 }
            servers:
              - { name: alive, address: "127.0.0.1:{{a.Port}}" }
              - { name: dead, address: "127.0.0.1:{{deadPort}}" }
        stats:
          bind: "127.0.0.1:0"
          auth: { user: admin, passwordFile: ./stats.pass }
        """;

    private static async Task<(LbTestHost Lb, TestBackend Alive)> StartWithTrafficAsync()
    {
        var alive = new TestBackend("alive");
        using var dead = new TestBackend("dead");
        var deadPort = dead.Port;
        dead.Stop();
        var lb = await StartAsync(Yaml(alive, deadPort));
        await WaitUntilAsync(() => !lb.Server("be", "dead").Up && lb.Server("be", "alive").LastCheck == "L4OK", "checks settled");
        var (socket, _) = await lb.ConnectAsync();
        Assert.True(await EchoesAsync(socket, "0123456789"));
        socket.Dispose();
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].CurrentSessions == 0, "session closed");
        return (lb, alive);
    }

    [Fact]
    public async Task Every_path_needs_the_configured_credentials()
    {
        var (lb, alive) = await StartWithTrafficAsync();
        await using var _ = lb;
        using var __ = alive;
        using var anonymous = lb.StatsClient(authorized: false);
        foreach (var path in new[] { "", "stats.csv", "stats.json", "metrics" })
        {
            var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:wrong")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("stats.csv")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await anonymous.PostAsync("admin?backend=be&server=alive&state=maint", null)).StatusCode);
        Assert.Equal("READY", lb.Server("be", "alive").Admin);
    }

    [Fact]
    public async Task Html_csv_json_and_metrics_show_status_checks_sessions_and_bytes()
    {
        var (lb, alive) = await StartWithTrafficAsync();
        await using var _ = lb;
        using var __ = alive;
        using var http = lb.StatsClient();

        var html = await http.GetStringAsync("");
        foreach (var expected in new[] { "<table", "fe", "Backend be", "alive", "dead", "DOWN", "UP", "L4OK", "L4", "stick table 1/100" })
        {
            Assert.Contains(expected, html, StringComparison.Ordinal);
        }

        var lines = (await http.GetStringAsync("stats.csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        var rows = lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
        Assert.All(lines.Skip(1), l => Assert.Equal(header.Length, l.Split(',').Length));
        var aliveRow = rows.Single(r => r["svname"] == "alive");
        Assert.Equal("UP", aliveRow["status"]);
        Assert.Equal("1", aliveRow["stot"]);
        Assert.Equal("10", aliveRow["bin"]);
        Assert.Equal("16", aliveRow["bout"]);
        var deadRow = rows.Single(r => r["svname"] == "dead");
        Assert.Equal("DOWN", deadRow["status"]);
        Assert.Equal("1", deadRow["chkdown"]);
        Assert.Matches("^L4(CON|TOUT)", deadRow["check_status"]);
        Assert.Equal("1", rows.Single(r => r["svname"] == "FRONTEND")["stot"]);
        Assert.Equal("UP", rows.Single(r => r["svname"] == "BACKEND")["status"]);

        using var json = JsonDocument.Parse(await http.GetStringAsync("stats.json"));
        var servers = json.RootElement.GetProperty("backends")[0].GetProperty("servers");
        Assert.Equal(2, servers.GetArrayLength());
        Assert.Equal("alive", servers[0].GetProperty("name").GetString());
        Assert.True(servers[0].GetProperty("up").GetBoolean());
        Assert.False(servers[1].GetProperty("up").GetBoolean());
        Assert.True(servers[1].GetProperty("downtimeSeconds").GetDouble() >= 0);

        var metrics = await http.GetStringAsync("metrics");
        Assert.Contains("trireme_lb_server_up{backend=\"be\",server=\"alive\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("trireme_lb_server_up{backend=\"be\",server=\"dead\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("trireme_lb_frontend_sessions_total{frontend=\"fe\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE trireme_lb_server_sessions_total counter", metrics, StringComparison.Ordinal);
        Assert.All(metrics.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')),
            l => Assert.Matches(@"^trireme_lb_[a-z_]+(\{[^}]*\})? -?[0-9.Ee+-]+$", l));
    }

    [Fact]
    public async Task Admin_endpoint_drains_and_readies_a_server_and_refuses_nonsense()
    {
        var (lb, alive) = await StartWithTrafficAsync();
        await using var _ = lb;
        using var __ = alive;
        using var http = lb.StatsClient();
        var drained = await http.PostAsync("admin?backend=be&server=alive&state=drain", null);
        Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
        Assert.Equal("DRAIN", lb.Server("be", "alive").Admin);
        Assert.Contains("DRAIN", await http.GetStringAsync("stats.csv"), StringComparison.Ordinal);

        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["backend"] = "be", ["server"] = "alive", ["state"] = "ready",
        });
        // A browser's form post is answered with a redirect back to the page (HttpClient follows it
        // without the credentials, so only the effect is checked here).
        await http.PostAsync("admin", form);
        Assert.Equal("READY", lb.Server("be", "alive").Admin);

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("admin?backend=be&server=ghost&state=maint", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("admin?backend=be&server=alive&state=off", null)).StatusCode);
    }
}
