// Proves that REAL etcdctl 3.4 (ETCDCTL_API=3) works against a 3-member cluster of real `trireme store`
// processes: put/get with --prefix --rev --keys-only --limit --sort-by --from-key --print-value-only and
// -w json; del --prefix --prev-kv; txn in its interactive syntax; watch --prefix --rev --prev-kv; lease
// grant/keep-alive/timetolive/revoke/list; member list; endpoint status/health (also --cluster); snapshot save;
// compaction (and the compacted-revision error); alarm list/disarm; etcd's error messages for bad input
// (empty keys, unknown leases, missing keys, future and compacted revisions; a reversed range is empty, not
// an error). One cluster is shared by the class;
// each test uses its own key prefix. Skips when etcdctl is not installed.
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed class TriremeClusterFixture : IAsyncLifetime
{
    internal TriremeStoreCluster? Cluster { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (EtcdCluster.EtcdctlPath is not null)
        {
            Cluster = await TriremeStoreCluster.StartAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}

public sealed class EtcdctlTests(TriremeClusterFixture fixture) : IClassFixture<TriremeClusterFixture>
{
    private TriremeStoreCluster Cluster => fixture.Cluster ?? throw new InvalidOperationException();

    private async Task<string> Ok(params string[] args)
    {
        if (fixture.Cluster is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        var (code, stdout, stderr) = await Cluster.EtcdctlAsync(args);
        Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}): {stderr}\n{Cluster.Logs}");
        return stdout;
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Put_and_get_with_etcdctl_flags()
    {
        foreach (var k in new[] { "a", "b", "c", "d" })
        {
            Assert.Equal("OK\n", await Ok("put", $"/get/{k}", $"v-{k}"));
        }

        Assert.Equal(["/get/a", "v-a", "/get/b", "v-b", "/get/c", "v-c", "/get/d", "v-d"], Lines(await Ok("get", "/get/", "--prefix")));
        Assert.Equal(["/get/a", "/get/b", "/get/c", "/get/d"], Lines(await Ok("get", "/get/", "--prefix", "--keys-only")));
        Assert.Equal(["/get/a", "/get/b"], Lines(await Ok("get", "/get/", "--prefix", "--keys-only", "--limit", "2")));
        Assert.Equal(["/get/d", "/get/c", "/get/b", "/get/a"],
            Lines(await Ok("get", "/get/", "--prefix", "--keys-only", "--sort-by", "KEY", "--order", "DESCEND")));
        Assert.Equal(["v-c", "v-d"], Lines(await Ok("get", "/get/c", "--from-key", "--print-value-only")).Take(2));
        var json = await Ok("get", "/get/a", "-w", "json");
        Assert.Contains("\"kvs\":[{\"key\":\"L2dldC9h\"", json, StringComparison.Ordinal);
        var modRevision = System.Text.RegularExpressions.Regex.Match(json, "\"mod_revision\":(\\d+)").Groups[1].Value;
        Assert.Equal("OK\n", await Ok("put", "/get/a", "v-a2"));
        Assert.Equal(["v-a"], Lines(await Ok("get", "/get/a", "--rev", modRevision, "--print-value-only")));
        Assert.Equal(["v-a2"], Lines(await Ok("get", "/get/a", "--print-value-only", "--consistency", "s")));
    }

    [Fact]
    public async Task Delete_prefix_with_prev_kv()
    {
        await Ok("put", "/del/x", "1");
        await Ok("put", "/del/y", "2");
        Assert.Equal(["2", "/del/x", "1", "/del/y", "2"], Lines(await Ok("del", "/del/", "--prefix", "--prev-kv")));
        Assert.Equal("", await Ok("get", "/del/", "--prefix"));
    }

    [Fact]
    public async Task Txn_in_interactive_syntax_with_several_compares()
    {
        if (fixture.Cluster is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await Ok("put", "/txn/a", "1");
        await Ok("put", "/txn/b", "2");
        var script = "value(\"/txn/a\") = \"1\"\nversion(\"/txn/b\") > \"0\"\n\nput /txn/c yes\nget /txn/a\n\nput /txn/c no\n\n";
        var (code, stdout, stderr) = await RunWithInput(script, "txn", "-i");
        Assert.True(code == 0, stderr);
        Assert.Equal(["SUCCESS", "OK", "/txn/a", "1"], Lines(stdout).Where(l => !l.EndsWith(':')).ToArray());
        Assert.Equal(["yes"], Lines(await Ok("get", "/txn/c", "--print-value-only")));
    }

    private async Task<(int, string, string)> RunWithInput(string input, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(EtcdCluster.EtcdctlPath!)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["ETCDCTL_API"] = "3";
        foreach (var a in new[] { "--endpoints", string.Join(",", Cluster.LiveClientUrls.Select(u => u.ToString().TrimEnd('/'))) }.Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Watch_prefix_from_a_revision_with_prev_kv()
    {
        await Ok("put", "/watch/a", "1");
        var json = await Ok("put", "/watch/a", "2", "-w", "json");
        var revision = System.Text.RegularExpressions.Regex.Match(json, "\"revision\":(\\d+)").Groups[1].Value;
        using var watch = ChildProcess.Start(EtcdCluster.EtcdctlPath!,
            ["--endpoints", string.Join(",", Cluster.LiveClientUrls.Select(u => u.ToString().TrimEnd('/'))),
             "watch", "/watch/", "--prefix", "--rev", revision, "--prev-kv"],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        await Ok("put", "/watch/b", "3");
        await Poll.UntilAsync(() => watch.OutputTail.Contains("/watch/b", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "watch output");
        // From the revision of the second put: that put (with its previous value 1), then the new key.
        Assert.Equal(["PUT", "/watch/a", "1", "/watch/a", "2", "PUT", "/watch/b", "3"], Lines(watch.OutputTail.Replace("\r", "", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Lease_grant_keep_alive_time_to_live_list_and_revoke()
    {
        var granted = await Ok("lease", "grant", "60");
        var id = System.Text.RegularExpressions.Regex.Match(granted, "lease ([0-9a-f]+) granted with TTL\\(60s\\)").Groups[1].Value;
        Assert.NotEmpty(id);
        await Ok("put", "/lease/k", "v", "--lease", id);
        Assert.Matches($"lease {id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[/lease/k\\]\\)",
            await Ok("lease", "timetolive", id, "--keys"));
        Assert.Contains($"lease {id} keepalived with TTL(60)", await Ok("lease", "keep-alive", "--once", id), StringComparison.Ordinal);
        // Keep-alive through each member: followers forward to the leader.
        for (var i = 0; i < Cluster.Members.Count; i++)
        {
            var (code, stdout, stderr) = await Cluster.EtcdctlAtAsync(i, "lease", "keep-alive", "--once", id);
            Assert.True(code == 0 && stdout.Contains("keepalived", StringComparison.Ordinal), stderr);
        }

        Assert.Contains(id, await Ok("lease", "list"), StringComparison.Ordinal);
        Assert.Equal($"lease {id} revoked\n", await Ok("lease", "revoke", id));
        Assert.Equal("", await Ok("get", "/lease/k"));
        Assert.Contains("already expired", await Ok("lease", "timetolive", id), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Member_list_endpoint_status_and_health()
    {
        var members = Lines(await Ok("member", "list"));
        Assert.Equal(3, members.Length);
        Assert.All(members, line => Assert.Matches("^[0-9a-f]+, started, m[123], http://127\\.0\\.0\\.2[123]:\\d+, http://127\\.0\\.0\\.2[123]:\\d+, false$", line));
        var status = Lines(await Ok("endpoint", "status"));
        Assert.Equal(3, status.Length);
        Assert.Single(status, line => line.Contains(", true, false, ", StringComparison.Ordinal)); // exactly one leader
        var health = Lines(await Ok("endpoint", "health"));
        Assert.All(health, line => Assert.Contains("is healthy: successfully committed proposal", line, StringComparison.Ordinal));

        // --cluster: etcdctl asks one member for the member list, then dials every advertised client URL
        // with a URL-shaped :authority (the authority rewriter in Trireme.Grpc makes Kestrel accept it).
        var clusterStatus = Lines(await OkAt(0, "endpoint", "status", "--cluster"));
        Assert.Equal(3, clusterStatus.Length);
        Assert.Single(clusterStatus, line => line.Contains(", true, false, ", StringComparison.Ordinal));
        // etcdctl 3.4 prints health results on stderr.
        var clusterHealth = Lines(await OkAt(0, "endpoint", "health", "--cluster", "-w", "table"))
            .Where(line => line.Contains("127.0.0.2", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, clusterHealth.Length);
        Assert.All(clusterHealth, line => Assert.Matches(@"^\| \S+ \|\s+true \|", line));
    }

    private async Task<string> OkAt(int member, params string[] args)
    {
        var (code, stdout, stderr) = await Cluster.EtcdctlAtAsync(member, args);
        Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}): {stderr}\n{Cluster.Logs}");
        return stdout;
    }

    [Fact]
    public async Task Compaction_snapshot_save_and_alarms()
    {
        await Ok("put", "/compact/k", "1");
        var json = await Ok("put", "/compact/k", "2", "-w", "json");
        var revision = System.Text.RegularExpressions.Regex.Match(json, "\"revision\":(\\d+)").Groups[1].Value;
        Assert.Equal($"compacted revision {revision}\n", await Ok("compaction", revision));
        var (code, _, stderr) = await Cluster.EtcdctlAsync("get", "/compact/k", "--rev", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("etcdserver: mvcc: required revision has been compacted", stderr, StringComparison.Ordinal);

        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "snap.db");
        var (scode, sout, serr) = await EtcdCluster.RunEtcdctlAsync([Cluster.Members[0].ClientUrl], ["snapshot", "save", file]);
        Assert.True(scode == 0, serr);
        Assert.Contains($"Snapshot saved at {file}", sout, StringComparison.Ordinal);
        // The stream is what etcdctl's restore verifies: whole 512-byte pages, then a SHA-256 of them.
        var saved = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
        Assert.Equal(System.Security.Cryptography.SHA256.HashSizeInBytes, saved.Length % 512);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(saved.AsSpan(0, saved.Length - 32)), saved[^32..]);

        Assert.Equal("", await Ok("alarm", "list"));
        Assert.Equal("", await Ok("alarm", "disarm"));
    }

    [Fact]
    public async Task Bad_input_gets_etcds_errors_through_etcdctl()
    {
        async Task Fails(string expected, params string[] args)
        {
            var (code, _, stderr) = await Cluster.EtcdctlAsync(args);
            Assert.True(code != 0, $"etcdctl {string.Join(' ', args)} should fail");
            Assert.Contains("Error: ", stderr, StringComparison.Ordinal);
            Assert.Contains(expected, stderr, StringComparison.Ordinal);
        }

        await Ok("put", "/bad/a", "1");
        await Fails("etcdserver: key is not provided", "put", "", "v");
        await Fails("etcdserver: key is not provided", "get", "");
        await Fails("etcdserver: requested lease not found", "put", "/bad/k", "v", "--lease", "1234abcd");
        await Fails("etcdserver: requested lease not found", "lease", "revoke", "1234abcd");
        Assert.Equal("lease 000000001234abcd already expired\n", await Ok("lease", "timetolive", "1234abcd"));
        await Fails("etcdserver: key not found", "put", "/bad/missing", "--ignore-value");
        await Fails("etcdserver: mvcc: required revision is a future revision", "get", "/bad/a", "--rev", "99999999");
        Assert.Equal("", await Ok("get", "/bad/b", "/bad/a")); // range end before its start: nothing, as etcd

        var revision = System.Text.RegularExpressions.Regex.Match(await Ok("get", "/bad/a", "-w", "json"), "\"revision\":(\\d+)").Groups[1].Value;
        await Ok("compaction", revision);
        await Fails("etcdserver: mvcc: required revision has been compacted", "compaction", "1");
        await Fails("etcdserver: mvcc: required revision has been compacted", "get", "/bad/a", "--rev", "1");
    }
}
