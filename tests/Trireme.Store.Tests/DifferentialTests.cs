// Proves output compatibility: the same etcdctl 3.4 steps run against a fresh 3-member real etcd 3.4
// cluster and a fresh 3-member trireme cluster print the same thing once cluster/member ids, raft terms
// and lease ids are masked (revisions are NOT masked: both start at revision 1 and must count alike).
// Skips when etcd or etcdctl is not installed.
using System.Text.RegularExpressions;
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed partial class DifferentialTests
{
    private static readonly string[][] _steps =
    [
        ["put", "/d/a", "1"],
        ["put", "/d/b", "2"],
        ["get", "/d/", "--prefix", "-w", "json"],
        ["get", "/d/", "--prefix", "--keys-only"],
        ["put", "/d/a", "3", "--prev-kv"],
        ["get", "/d/a", "--rev", "2", "-w", "json"],
        ["get", "/d/", "--prefix", "--sort-by", "MODIFY", "--order", "DESCEND", "--print-value-only"],
        ["get", "/d/", "--prefix", "--count-only", "-w", "json"],
        ["del", "/d/", "--prefix", "--prev-kv"],
        ["get", "/d/a", "-w", "json"],
        ["compaction", "3"],
        ["get", "/d/a", "--rev", "2"],
        ["lease", "grant", "100"],
        ["get", "", "--prefix", "--from-key", "--keys-only"],
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
            var expected = await EtcdCluster.RunEtcdctlAsync(etcd.ClientUrls, step);
            var actual = await trireme.EtcdctlAsync(step);
            var what = string.Join(' ', step);
            Assert.True(expected.ExitCode == actual.ExitCode, $"{what}: exit {expected.ExitCode} vs {actual.ExitCode}: {actual.StdErr}");
            Assert.Equal(Mask(expected.StdOut), Mask(actual.StdOut));
            Assert.Equal(Mask(expected.StdErr), Mask(actual.StdErr));
        }
    }
}
