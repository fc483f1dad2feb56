// Proves the backend's choices with no sockets: weighted roundrobin order, leastconn, source hashing,
// backup servers only when no active server is up, drain and maint, stick-on-source holding and
// moving on DOWN, maxconn queueing then rejecting, queue timeout, retries and redispatch. Every
// assertion is an exact sequence, since the core is deterministic.
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Tests;

public sealed class CoreSelectionTests
{
    private static readonly CheckTimings Checks = new(1, 1, 1, Rise: 2, Fall: 3);

    private static BackendCore Backend(
        BalanceAlgorithm balance, StickSettings? stick = null, int maxQueue = 10, CheckTimings? checks = null,
        int retries = 3, bool redispatch = true, params ServerSettings[] servers) =>
        new(new BackendSettings(balance, checks, stick, maxQueue, QueueTimeoutTicks: 5, retries, redispatch), servers);

    private static string Pick(BackendCore backend, long session, UInt128 client = default)
    {
        var decision = backend.Assign(session, client);
        Assert.Equal(DecisionKind.Connect, decision.Kind);
        return decision.Server!.Name;
    }

    private static void FailChecks(BackendCore backend, string server, int times)
    {
        var id = backend.Servers.Single(s => s.Name == server).Id;
        for (var i = 0; i < times; i++)
        {
            backend.StepCheckResult(id, new CheckResult(false, 1, "L4CON"));
        }
    }

    [Fact]
    public void Weighted_roundrobin_interleaves_by_weight()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, servers: [new("a", Weight: 3), new("b", Weight: 1)]);
        var picks = Enumerable.Range(0, 8).Select(i => Pick(backend, i)).ToArray();
        Assert.Equal(["a", "a", "b", "a", "a", "a", "b", "a"], picks);
    }

    [Fact]
    public void Leastconn_picks_the_server_with_fewest_sessions()
    {
        var backend = Backend(BalanceAlgorithm.LeastConn, servers: [new("a"), new("b"), new("c")]);
        var first = new[] { Pick(backend, 1), Pick(backend, 2), Pick(backend, 3) };
        Assert.Equal(3, first.Distinct().Count());
        backend.Release(2);
        Assert.Equal(first[1], Pick(backend, 4));
    }

    [Fact]
    public void Source_hash_is_stable_per_client_and_spreads_clients()
    {
        var backend = Backend(BalanceAlgorithm.Source, servers: [new("a"), new("b"), new("c")]);
        var seen = new HashSet<string>();
        for (ulong client = 0; client < 30; client++)
        {
            var first = Pick(backend, (long)client * 2, client);
            Assert.Equal(first, Pick(backend, ((long)client * 2) + 1, client));
            seen.Add(first);
        }

        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public void Backup_servers_serve_only_while_no_active_server_is_up()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, checks: Checks,
            servers: [new("a"), new("spare", Backup: true)]);
        Assert.Equal("a", Pick(backend, 1));
        FailChecks(backend, "a", 3);
        Assert.Equal("spare", Pick(backend, 2));
        var id = backend.Servers[0].Id;
        backend.StepCheckResult(id, new CheckResult(true, 1, "L4OK"));
        backend.StepCheckResult(id, new CheckResult(true, 1, "L4OK"));
        Assert.Equal("a", Pick(backend, 3));
    }

    [Fact]
    public void No_new_session_goes_to_a_down_server_and_none_left_rejects()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, checks: Checks, servers: [new("a"), new("b")]);
        FailChecks(backend, "a", 3);
        Assert.All(Enumerable.Range(0, 5), i => Assert.Equal("b", Pick(backend, i)));
        FailChecks(backend, "b", 3);
        Assert.Equal(RejectReason.NoServer, backend.Assign(99, 0).Reason);
    }

    [Fact]
    public void Drain_keeps_sticky_clients_and_maint_moves_them()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, new StickSettings(100, 1000), servers: [new("a"), new("b")]);
        Assert.Equal("a", Pick(backend, 1, client: 7));
        Assert.True(backend.SetAdminState("a", ServerAdminState.Drain));
        Assert.Equal("a", Pick(backend, 2, client: 7));
        Assert.Equal("b", Pick(backend, 3, client: 8));
        backend.SetAdminState("a", ServerAdminState.Maint);
        Assert.Equal("b", Pick(backend, 4, client: 7));
        Assert.False(backend.SetAdminState("nope", ServerAdminState.Maint));
    }

    [Fact]
    public void Stickiness_holds_while_up_moves_on_down_and_expires()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, new StickSettings(100, ExpireTicks: 50), checks: Checks,
            servers: [new("a"), new("b")]);
        var home = Pick(backend, 1, client: 42);
        for (var i = 2; i < 10; i++)
        {
            Assert.Equal(home, Pick(backend, i, client: 42));
        }

        FailChecks(backend, home, 3);
        var moved = Pick(backend, 10, client: 42);
        Assert.NotEqual(home, moved);
        var id = backend.Servers.Single(s => s.Name == home).Id;
        backend.StepCheckResult(id, new CheckResult(true, 1, "L4OK"));
        backend.StepCheckResult(id, new CheckResult(true, 1, "L4OK"));
        Assert.Equal(moved, Pick(backend, 11, client: 42));
        for (var i = 0; i < 51; i++)
        {
            backend.Tick();
            foreach (var s in backend.TakeReady().ChecksDue)
            {
                backend.StepCheckResult(s.Id, new CheckResult(true, 1, "L4OK"));
            }
        }

        Assert.Equal(0, backend.Stick!.Count);
    }

    [Fact]
    public void Stick_table_never_exceeds_its_size()
    {
        var table = new StickTable(new StickSettings(Size: 3, ExpireTicks: 100));
        for (ulong client = 0; client < 10; client++)
        {
            table.Put(client, 0, 0);
        }

        Assert.Equal(3, table.Count);
        Assert.False(table.TryGet(0, 0, out _));
        Assert.True(table.TryGet(9, 0, out _));
    }

    [Fact]
    public void Maxconn_queues_then_rejects_and_a_release_dequeues_in_order()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, maxQueue: 2, servers: [new("a", MaxConn: 1)]);
        Assert.Equal("a", Pick(backend, 1));
        Assert.Equal(DecisionKind.Queued, backend.Assign(2, 0).Kind);
        Assert.Equal(DecisionKind.Queued, backend.Assign(3, 0).Kind);
        Assert.Equal(RejectReason.QueueFull, backend.Assign(4, 0).Reason);
        backend.Release(1);
        Assert.Equal([(2L, "a")], backend.TakeReady().Dequeued.Select(d => (d.SessionId, d.Server.Name)));
        Assert.Equal(1, backend.QueueLength);
    }

    [Fact]
    public void A_queued_session_times_out()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, servers: [new("a", MaxConn: 1)]);
        Pick(backend, 1);
        Assert.Equal(DecisionKind.Queued, backend.Assign(2, 0).Kind);
        for (var i = 0; i < 5; i++)
        {
            backend.Tick();
        }

        Assert.Equal([2L], backend.TakeReady().QueueTimedOut);
        Assert.Equal(1, backend.TrackedSessions);
    }

    [Fact]
    public void Connect_failures_retry_the_same_server_then_redispatch_then_give_up()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, retries: 2, servers: [new("a"), new("b")]);
        Assert.Equal("a", Pick(backend, 1));
        Assert.Equal("a", backend.ConnectFailed(1).Server!.Name);
        Assert.Equal("b", backend.ConnectFailed(1).Server!.Name);
        Assert.Equal(RejectReason.RetriesExhausted, backend.ConnectFailed(1).Reason);
        Assert.Equal(0, backend.CurrentSessions);
        Assert.Equal(0, backend.TrackedSessions);
    }

    [Fact]
    public void Dynamic_server_list_keeps_known_servers_and_adds_and_removes()
    {
        var backend = Backend(BalanceAlgorithm.RoundRobin, servers: [new("a"), new("b")]);
        var a = backend.Servers[0];
        Pick(backend, 1);
        backend.SetServers([new ServerSettings("c"), new ServerSettings("a")]);
        Assert.Equal(["c", "a"], backend.Servers.Select(s => s.Name));
        Assert.Same(a, backend.Servers[1]);
        backend.Release(1);
        Assert.Equal(0, a.CurrentSessions);
    }
}
