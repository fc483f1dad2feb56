// Proves the membership flow operators use with real etcdctl: member add --learner prints the settings
// for the joiner, the joiner starts with --initial-cluster-state existing and catches up as a learner,
// member promote makes it a voter, member remove takes it out again; and a graceful stop (SIGTERM) of
// the leader hands leadership over so writes continue at once.
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed class MembershipTests
{
    [Fact]
    public async Task Learner_add_start_promote_and_remove_with_etcdctl()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync();
        var (code, _, stderr) = await cluster.EtcdctlAsync("put", "/m/before", "1");
        Assert.True(code == 0, stderr);
        var joiner = cluster.AddMemberDefinition();
        var peer = joiner.PeerUrl.ToString().TrimEnd('/');
        var (acode, added, aerr) = await cluster.EtcdctlAsync("member", "add", joiner.Name, "--learner", "--peer-urls", peer);
        Assert.True(acode == 0, aerr + cluster.Logs);
        Assert.Contains($"Member", added, StringComparison.Ordinal);
        Assert.Contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\"", added, StringComparison.Ordinal);
        // etcdctl prints the id with %16x: one below 2^60 (1 in 16) is padded with spaces.
        var id = System.Text.RegularExpressions.Regex.Match(added, @"Member\s+([0-9a-f]+) added").Groups[1].Value;

        cluster.StartMember(3, "existing");
        await Poll.UntilAsync(async () =>
        {
            var (c, o, _) = await cluster.EtcdctlAtAsync(3, "get", "/m/before", "--consistency", "s", "--print-value-only");
            return c == 0 && o.Trim() == "1";
        }, TimeSpan.FromSeconds(90), "the learner to catch up");
        var (lcode, list, _) = await cluster.EtcdctlAsync("member", "list");
        Assert.Equal(0, lcode);
        Assert.Contains($"{id}, started, {joiner.Name}, {peer}, {joiner.ClientUrl.ToString().TrimEnd('/')}, true", list, StringComparison.Ordinal);

        await Poll.UntilAsync(async () => (await cluster.EtcdctlAsync("member", "promote", id)).ExitCode == 0,
            TimeSpan.FromSeconds(60), "promote");
        (_, list, _) = await cluster.EtcdctlAsync("member", "list");
        Assert.Contains($"{joiner.ClientUrl.ToString().TrimEnd('/')}, false", list, StringComparison.Ordinal);

        var (rcode, removed, rerr) = await cluster.EtcdctlAtAsync(0, "member", "remove", id);
        Assert.True(rcode == 0, rerr);
        Assert.Matches($@"Member\s+{id} removed from cluster", removed);
        (_, list, _) = await cluster.EtcdctlAtAsync(0, "member", "list");
        Assert.Equal(3, list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Graceful_stop_of_the_leader_transfers_leadership()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync();
        var leader = await cluster.WaitLeaderAsync();
        var oldId = (await TriremeStoreCluster.StatusAsync(cluster.Members[leader].ClientUrl)).Header.MemberId;
        await cluster.TerminateAsync(leader);
        Assert.Contains("stopped", cluster.Members[leader].Process!.OutputTail, StringComparison.Ordinal);
        var survivor = cluster.Members.First(m => m.IsRunning);
        // Right after the old leader exits, the others already follow a new leader (no election timeout wait).
        var status = await TriremeStoreCluster.StatusAsync(survivor.ClientUrl);
        Assert.NotEqual(0UL, status.Leader);
        Assert.NotEqual(oldId, status.Leader);
        var (code, _, stderr) = await cluster.EtcdctlAsync("put", "/after-stop", "ok");
        Assert.True(code == 0, stderr);
    }
}
