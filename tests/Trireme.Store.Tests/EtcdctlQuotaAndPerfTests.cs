// Proves two etcdctl 3.4 operator flows against 3-member clusters of real `trireme store` processes,
// each needing a cluster of its own: (1) with a small --quota-backend-bytes, writes raise the NOSPACE
// alarm (`alarm list` shows it, further puts fail with etcd's "database space exceeded" while reads and
// deletes work), and after deleting, `compaction` and `alarm disarm` writes succeed again; (2) `check
// perf` runs to completion (60 s of load by etcdctl's design, with --auto-compact and --auto-defrag) and
// prints its verdict lines. Its PASS/FAIL thresholds are NOT asserted: speed is never a test here, and
// this shared 2-core machine may well fail them. Skips when etcdctl is not installed.
using System.Text.RegularExpressions;
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed partial class EtcdctlQuotaAndPerfTests(ITestOutputHelper output)
{
    private static async Task<string> Ok(TriremeStoreCluster cluster, params string[] args)
    {
        var (code, stdout, stderr) = await cluster.EtcdctlAsync(args);
        Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}): {stderr}\n{cluster.Logs}");
        return stdout;
    }

    [GeneratedRegex("^memberID:\\d+ alarm:NOSPACE ?$")] // etcdctl ends the line with a space
    private static partial Regex NoSpaceLine();

    [Fact]
    public async Task Small_quota_raises_nospace_until_compaction_and_disarm()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync(extraArguments: ["--quota-backend-bytes", "65536"]);
        var value = new string('q', 8 * 1024);
        string? refusal = null;
        for (var i = 0; i < 40 && refusal is null; i++) // 40 × 8 KiB is far past 64 KiB: bounded
        {
            var (code, _, stderr) = await cluster.EtcdctlAsync("put", $"/quota/{i:D2}", value);
            refusal = code == 0 ? null : stderr;
        }

        Assert.NotNull(refusal);
        Assert.Contains("etcdserver: mvcc: database space exceeded", refusal, StringComparison.Ordinal);
        var alarms = (await Ok(cluster, "alarm", "list")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(alarms);
        Assert.All(alarms, line => Assert.Matches(NoSpaceLine(), line));

        // Armed: writes refused, reads and deletes served.
        var (putCode, _, putErr) = await cluster.EtcdctlAsync("put", "/quota/small", "x");
        Assert.NotEqual(0, putCode);
        Assert.Contains("etcdserver: mvcc: database space exceeded", putErr, StringComparison.Ordinal);
        Assert.Contains("/quota/00", await Ok(cluster, "get", "/quota/", "--prefix", "--keys-only"), StringComparison.Ordinal);
        await Ok(cluster, "del", "/quota/", "--prefix");

        // Free the space (compact away the deleted history), then disarm: disarm prints what it cleared.
        var revision = Regex.Match(await Ok(cluster, "get", "/quota/", "-w", "json"), "\"revision\":(\\d+)").Groups[1].Value;
        Assert.Equal($"compacted revision {revision}\n", await Ok(cluster, "compaction", revision));
        var disarmed = (await Ok(cluster, "alarm", "disarm")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(alarms, disarmed);
        Assert.Equal("", await Ok(cluster, "alarm", "list"));
        Assert.Equal("OK\n", await Ok(cluster, "put", "/quota/small", "x"));
    }

    [Fact]
    public async Task Check_perf_runs_to_completion_and_prints_its_verdict()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync();
        // etcdctl's own load runs 60 s; the limit leaves room for its setup and cleanup on a loaded machine.
        var (code, stdout, stderr) = await EtcdctlRunner.RunAsync(cluster.LiveClientUrls,
            ["check", "perf", "--load", "s", "--auto-compact", "--auto-defrag"], timeout: TimeSpan.FromMinutes(4));
        var lines = stdout.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var report = $"exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}";
        output.WriteLine(report);
        // The verdict lines etcdctl 3.4 prints, with either outcome (thresholds depend on the machine).
        Assert.True(lines.Any(l => Regex.IsMatch(l, "^(PASS: Throughput is|FAIL: Throughput too low:) \\d+ writes/s$")), report);
        Assert.True(lines.Any(l => Regex.IsMatch(l, "^(PASS: Slowest request took|Slowest request took too long:) [0-9.]+s$")), report);
        Assert.True(lines.Any(l => Regex.IsMatch(l, "^(PASS: Stddev is|Stddev too high:) [0-9.]+s$")), report);
        Assert.True(lines[^1] is "PASS" or "FAIL", report);
        Assert.True(code == (lines[^1] == "PASS" ? 0 : 1), report);
        Assert.DoesNotContain("Error", stderr, StringComparison.Ordinal);
        // It cleaned up after itself through Trireme: its keys are gone.
        Assert.Equal("", await Ok(cluster, "get", "/etcdctl-check-perf/", "--prefix", "--keys-only"));
    }
}
