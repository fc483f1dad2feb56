// Proves `trireme up`: it starts a 3-member store on 127.0.0.11-13 (ports given here, free ones, data in
// a temp dir), prints the members, the leader and an etcdctl line that works, and on SIGTERM stops every
// member and exits 0.
using System.Net;
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed class UpCommandTests
{
    [Fact]
    public async Task Up_starts_a_reachable_cluster_and_stops_it_on_sigterm()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        using var dir = new TempDirectory();
        var clientPort = FreePort.Get(IPAddress.Parse("127.0.0.11"));
        var peerPort = FreePort.Get(IPAddress.Parse("127.0.0.11"));
        using var up = ChildProcess.Start(TriremeStoreCluster.TriremePath,
            ["up", "--data-dir", dir.Path, "--store-client-port", $"{clientPort}", "--store-peer-port", $"{peerPort}"]);
        await Poll.UntilAsync(() => up.OutputTail.Contains("running", StringComparison.Ordinal) || up.HasExited,
            TimeSpan.FromSeconds(120), "trireme up to start");
        var output = up.OutputTail;
        Assert.Contains("<- leader", output, StringComparison.Ordinal);
        var endpoints = System.Text.RegularExpressions.Regex.Match(output, "etcdctl --endpoints (\\S+)").Groups[1].Value;
        Assert.NotEmpty(endpoints);
        var (code, stdout, stderr) = await ChildProcess.RunAsync(EtcdCluster.EtcdctlPath!, ["--endpoints", endpoints, "member", "list"],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.True(code == 0, stderr);
        Assert.Equal(3, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        await ChildProcess.RunAsync("kill", ["-TERM", $"{up.Pid}"]);
        await Poll.UntilAsync(() => up.HasExited, TimeSpan.FromSeconds(60), "trireme up to stop");
        Assert.Contains("trireme up: stopped.", up.OutputTail, StringComparison.Ordinal);
    }
}
