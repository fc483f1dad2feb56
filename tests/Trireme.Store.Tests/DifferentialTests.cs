// Proves output compatibility: the same etcdctl 3.4 steps run against a fresh 3-member real etcd 3.4
// cluster and a fresh 3-member trireme cluster print the same thing — stdout, stderr and exit code —
// once cluster/member ids, raft terms and lease ids are masked (revisions are NOT masked: both start at
// revision 1 and must count alike, so a write that one side applies and the other refuses shows up).
// Steps cover get's flags (--prefix --rev --keys-only --limit --sort-by --order --from-key
// --print-value-only --count-only, ranges, -w json), del --prefix --prev-kv, txn in its stdin syntax
// with several compares of each kind (both branches), compaction, lease grant, and the error paths:
// empty keys, unknown lease IDs, --ignore-value on a missing key, future and compacted revisions, a
// reversed range, and a value over the 1.5 MiB request limit (given on stdin).
// Skips when etcd or etcdctl is not installed.
using System.Text.RegularExpressions;
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed partial class DifferentialTests
{
    private sealed record Step(string[] Args, string? Stdin = null)
    {
        public override string ToString() => string.Join(' ', Args) + (Stdin is null ? "" : $" < {Math.Min(Stdin.Length, 60)} chars");
    }

    private static Step S(params string[] args) => new(args);

    private static readonly Step[] _steps =
    [
        S("put", "/d/a", "1"),
        S("put", "/d/b", "2"),
        S("get", "/d/", "--prefix", "-w", "json"),
        S("get", "/d/", "--prefix", "--keys-only"),
        S("put", "/d/a", "3", "--prev-kv"),
        S("get", "/d/a", "--rev", "2", "-w", "json"),
        S("get", "/d/", "--prefix", "--sort-by", "MODIFY", "--order", "DESCEND", "--print-value-only"),
        S("get", "/d/", "--prefix", "--count-only", "-w", "json"),
        S("del", "/d/", "--prefix", "--prev-kv"),
        S("get", "/d/a", "-w", "json"),
        S("compaction", "3"),
        S("get", "/d/a", "--rev", "2"),
        S("lease", "grant", "100"),
        S("get", "", "--prefix", "--from-key", "--keys-only"),

        // More of get's flags, on three keys.
        S("put", "/e/a", "3"),
        S("put", "/e/b", "1"),
        S("put", "/e/c", "2"),
        S("put", "/e/b", "4"),
        S("get", "/e/", "--prefix", "--limit", "2", "-w", "json"),
        S("get", "/e/b", "--from-key", "--keys-only"),
        S("get", "/e/", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND"),
        S("get", "/e/", "--prefix", "--sort-by", "CREATE", "--order", "ASCEND", "--keys-only"),
        S("get", "/e/", "--prefix", "--sort-by", "VERSION", "--order", "DESCEND", "--keys-only", "--limit", "1"),
        S("get", "/e/a", "/e/c", "--print-value-only"),
        S("get", "/e/c", "/e/a"),
        S("get", "/e/b", "--rev", "8", "--print-value-only"),

        // Txn in its stdin syntax: compares on value, mod, create and version; both branches.
        new(["txn"], "value(\"/e/a\") = \"3\"\nmod(\"/e/b\") > \"0\"\ncreate(\"/e/zz\") = \"0\"\nversion(\"/e/b\") = \"2\"\n\n" +
            "put /e/t yes\nget /e/b\ndel /e/c\n\nput /e/t no\n\n"),
        new(["txn", "-w", "json"], "value(\"/e/a\") != \"3\"\n\nput /e/t never\n\nget /e/t\nget /e/c\n\n"),
        // Nested revisions are per op: a read before the txn's first write sees the previous revision.
        new(["txn", "-w", "json"], "value(\"/e/a\") = \"3\"\n\nget /e/b\nput /e/u 1\nget /e/u\n\n\n"),
        S("get", "/e/", "--prefix"),

        // Errors, each with etcd's message; none may advance the revision.
        S("put", "", "v"),
        S("get", ""),
        S("put", "/e/x", "v", "--lease", "1234abcd"),
        S("lease", "revoke", "1234abcd"),
        S("lease", "timetolive", "1234abcd"),
        S("put", "/e/missing", "--ignore-value"),
        S("get", "/e/a", "--rev", "100000"),
        S("compaction", "2"),
        new(["put", "/e/big"], new string('b', (3 * 1024 * 1024 / 2) + 1024)),
        S("del", "/e/nothing"),
        S("del", "/e/a", "--prev-kv"),
        S("put", "/e/last", "1", "-w", "json"),
    ];

    [GeneratedRegex("\"(cluster_id|member_id|raft_term)\":\\d+")]
    private static partial Regex HeaderIds();

    [GeneratedRegex("lease [0-9a-f]+ ")]
    private static partial Regex LeaseId();

    [GeneratedRegex("\\{\"level\".*\\}\\n?")]
    private static partial Regex ClientLogLines();

    private static string Mask(string output) =>
        LeaseId().Replace(HeaderIds().Replace(ClientLogLines().Replace(output, ""), "\"$1\":X"), "lease ID ");

    [Fact]
    public async Task Etcdctl_prints_the_same_for_trireme_as_for_etcd()
    {
        if (!EtcdCluster.IsAvailable || EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcd/etcdctl are not installed");
        }

        await using var etcd = await EtcdCluster.StartAsync(3);
        await using var trireme = await TriremeStoreCluster.StartAsync();
        foreach (var step in _steps)
        {
            var expected = await EtcdctlRunner.RunAsync(etcd.ClientUrls, step.Args, step.Stdin);
            var actual = await EtcdctlRunner.RunAsync(trireme.LiveClientUrls, step.Args, step.Stdin);
            var what = step.ToString();
            Assert.True(expected.ExitCode == actual.ExitCode, $"{what}: exit {expected.ExitCode} vs {actual.ExitCode}: {actual.StdErr}");
            Assert.True(Mask(expected.StdOut) == Mask(actual.StdOut), $"{what}: stdout\netcd:\n{expected.StdOut}\ntrireme:\n{actual.StdOut}");
            Assert.True(Mask(expected.StdErr) == Mask(actual.StdErr), $"{what}: stderr\netcd:\n{expected.StdErr}\ntrireme:\n{actual.StdErr}");
        }
    }
}
