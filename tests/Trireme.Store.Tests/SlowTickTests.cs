// Proves that a write's commit path never waits for a Raft tick: a 3-member cluster runs with an 8 s
// heartbeat (16 s election), and puts sent to every member (leader and followers, so forwarded
// proposals and the commit reaching followers are covered too) must each finish within etcdctl's 5 s
// command timeout. A step deferred to the next tick (the proposal's broadcast, the commit index, a
// follower's forwarded proposal, a loop that only wakes on the ticker) would leave puts waiting up to
// 8 s, so most of the nine would fail. No wall-clock assertion: the timeouts are the client's own.
// Takes ~20-40 s for the first election at this tick. Skips when etcdctl is not installed.
using Trireme.Testing;

namespace Trireme.Store.Tests;

public sealed class SlowTickTests
{
    [Fact]
    public async Task Puts_commit_without_waiting_for_a_tick()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        await using var cluster = await TriremeStoreCluster.StartAsync(heartbeatMilliseconds: 8000, electionMilliseconds: 16_000);
        await cluster.WaitLeaderAsync(TimeSpan.FromSeconds(180));
        for (var round = 0; round < 3; round++)
        {
            for (var member = 0; member < 3; member++)
            {
                var (code, stdout, stderr) = await cluster.EtcdctlAtAsync(member, "--command-timeout", "5s",
                    "put", $"/slowtick/{member}/{round}", "v");
                Assert.True(code == 0, $"put via m{member + 1} failed ({code}): {stderr}\n{cluster.Logs}");
                Assert.Equal("OK\n", stdout);
            }
        }

        var (getCode, got, getErr) = await cluster.EtcdctlAtAsync(2, "--command-timeout", "5s", "get", "/slowtick/", "--prefix", "--keys-only");
        Assert.True(getCode == 0, $"get failed ({getCode}): {getErr}");
        Assert.Equal(9, got.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
