// Proves the balancer's behaviour with real sockets on loopback, as operators expect it from HAProxy in
// mode tcp: a killed backend goes DOWN after fall x inter and gets no new connections while established
// ones to other servers keep forwarding, and comes back UP after rise x inter; stickiness holds and
// moves on DOWN; maxconn queues, then rejects, and a queued client times out; a half-closed client still
// gets the whole answer; a reload keeps established connections (also when the frontend moves to
// another address). Backends greet with their name and echo, so each client knows where it landed.
// Checks run every 100 ms; every wait polls with a generous deadline.
using System.Net.Sockets;
using Trireme.Balancer.Core;
using static Trireme.Balancer.Tests.LbTestHost;

namespace Trireme.Balancer.Tests;

public sealed class BehaviourTests
{
    private static string Yaml(string servers, string backendExtra = "", string global = "", string stats = "") => $$"""
        {{global}}
        frontends:
          - { name: fe, bind: "127.0.0.1:0", backend: be }
        backends:
          - name: be
            balance: roundrobin
            check: { type: tcp, inter: 100ms, rise: 2, fall: 3, timeout: 1s }
        {{backendExtra}}
            servers:
        {{servers}}
        {{stats}}
        """;

    private static string Servers(params TestBackend[] backends) => string.Join("\n",
        backends.Select(b => $"      - {{ name: {b.Name}, address: 127.0.0.1:{b.Port} }}"));

    [Fact]
    public async Task Killed_backend_goes_down_gets_no_new_connections_and_comes_back_up()
    {
        using var a = new TestBackend("a");
        using var b = new TestBackend("b");
        await using var lb = await StartAsync(Yaml(Servers(a, b)));
        var (toB, first) = await lb.ConnectAsync();
        if (first != "b")
        {
            toB.Dispose();
            (toB, first) = await lb.ConnectAsync();
        }

        Assert.Equal("b", first);
        await WaitUntilAsync(() => lb.Server("be", "a").LastCheck == "L4OK", "a checked");
        a.Stop();
        await WaitUntilAsync(() => !lb.Server("be", "a").Up, "a DOWN");
        var down = lb.Server("be", "a");
        Assert.Equal(1, down.DownTransitions);
        Assert.True(down.FailedChecks >= 3);

        var sessionsToA = lb.Server("be", "a").TotalSessions;
        for (var i = 0; i < 6; i++)
        {
            var (s, name) = await lb.ConnectAsync();
            Assert.Equal("b", name);
            s.Dispose();
        }

        Assert.Equal(sessionsToA, lb.Server("be", "a").TotalSessions);
        Assert.True(await EchoesAsync(toB, "still here"), "established connection to b kept forwarding");

        a.Start();
        await WaitUntilAsync(() => lb.Server("be", "a").Up, "a UP again");
        Assert.Equal(1, lb.Server("be", "a").UpTransitions);
        var names = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            var (s, name) = await lb.ConnectAsync();
            names.Add(name);
            s.Dispose();
        }

        Assert.Contains("a", names);
        toB.Dispose();
    }

    [Fact]
    public async Task Stickiness_holds_and_moves_when_the_server_goes_down()
    {
        using var a = new TestBackend("a");
        using var b = new TestBackend("b");
        using var c = new TestBackend("c");
        await using var lb = await StartAsync(Yaml(Servers(a, b, c), "    stickOnSource: { expire: 30m, size: 1000 }"));
        var (s0, home) = await lb.ConnectAsync();
        s0.Dispose();
        for (var i = 0; i < 5; i++)
        {
            var (s, name) = await lb.ConnectAsync();
            Assert.Equal(home, name);
            s.Dispose();
        }

        new[] { a, b, c }.Single(x => x.Name == home).Stop();
        await WaitUntilAsync(() => !lb.Server("be", home).Up, "home DOWN");
        var (s1, moved) = await lb.ConnectAsync();
        s1.Dispose();
        Assert.NotEqual(home, moved);
        for (var i = 0; i < 5; i++)
        {
            var (s, name) = await lb.ConnectAsync();
            Assert.Equal(moved, name);
            s.Dispose();
        }
    }

    [Fact]
    public async Task Maxconn_queues_then_rejects_and_a_queued_client_is_served_when_a_slot_frees()
    {
        using var a = new TestBackend("a");
        var servers = $"      - {{ name: a, address: 127.0.0.1:{a.Port}, maxconn: 1 }}";
        await using var lb = await StartAsync(Yaml(servers, "    maxQueue: 1\n    timeouts: { queue: 20s }"));
        var (first, _) = await lb.ConnectAsync();

        var queued = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await queued.ConnectAsync(lb.Frontend());
        await WaitUntilAsync(() => lb.Host.Snapshot().Backends[0].QueueCurrent == 1, "second client queued");

        var rejected = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await rejected.ConnectAsync(lb.Frontend());
        Assert.True(await ClosedWithinAsync(rejected, TimeSpan.FromSeconds(20)), "third client refused");
        Assert.Equal(1, lb.Host.Snapshot().Backends[0].RejectedQueueFull);

        first.Dispose();
        Assert.Equal("a", await ReadLineAsync(queued, TimeSpan.FromSeconds(20)));
        Assert.True(await EchoesAsync(queued, "served after waiting"));
        queued.Dispose();
        rejected.Dispose();
    }

    [Fact]
    public async Task A_queued_client_is_closed_when_the_queue_timeout_passes()
    {
        using var a = new TestBackend("a");
        var servers = $"      - {{ name: a, address: 127.0.0.1:{a.Port}, maxconn: 1 }}";
        await using var lb = await StartAsync(Yaml(servers, "    timeouts: { queue: 300ms }"));
        var (first, _) = await lb.ConnectAsync();
        var waiting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await waiting.ConnectAsync(lb.Frontend());
        Assert.True(await ClosedWithinAsync(waiting, TimeSpan.FromSeconds(20)));
        Assert.Equal(1, lb.Host.Snapshot().Backends[0].QueueTimeouts);
        Assert.True(await EchoesAsync(first, "unaffected"));
        first.Dispose();
        waiting.Dispose();
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task A_client_that_half_closes_still_receives_the_full_answer(string engine)
    {
        using var a = new TestBackend("a") { AnswerAfterFinBytes = 1_000_000 };
        await using var lb = await StartAsync(Yaml(Servers(a), global: $"global: {{ engine: {engine} }}"));
        var (socket, _) = await lb.ConnectAsync();
        await socket.SendAsync(new byte[100_000]);
        socket.Shutdown(SocketShutdown.Send);
        var buffer = new byte[64 * 1024];
        var total = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        Assert.Equal(1_000_000, total);
        socket.Dispose();
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].CurrentSessions == 0, "session ended");
        var server = lb.Server("be", "a");
        Assert.Equal(100_000, server.BytesIn);
        Assert.Equal(1_000_000 + 2, server.BytesOut);
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task Reload_keeps_established_connections_and_applies_the_new_servers_and_address(string engine)
    {
        using var a = new TestBackend("a");
        using var b = new TestBackend("b");
        var global = $"global: {{ engine: {engine} }}";
        await using var lb = await StartAsync(Yaml(Servers(a), global: global));
        var (old, name) = await lb.ConnectAsync();
        Assert.Equal("a", name);
        var frontend = lb.Frontend();

        // Same frontend, the server list changed: a leaves, b joins.
        await lb.Host.ReloadAsync(Config.ConfigParser.Parse(Yaml(Servers(b), global: global), lb.Directory));
        Assert.Equal(frontend, lb.Frontend());
        Assert.True(await EchoesAsync(old, "after reload 1"));
        var (fresh, freshName) = await lb.ConnectAsync();
        Assert.Equal("b", freshName);

        // A change that rebuilds the backend (another balance algorithm) keeps connections too.
        await lb.Host.ReloadAsync(Config.ConfigParser.Parse(
            Yaml(Servers(b), global: global).Replace("roundrobin", "leastconn", StringComparison.Ordinal), lb.Directory));
        Assert.True(await EchoesAsync(old, "after reload 2"));
        Assert.True(await EchoesAsync(fresh, "after reload 2"));

        // The frontend moves to another address: the old listener closes, a new one accepts, and the
        // connections it accepted before keep forwarding.
        await lb.Host.ReloadAsync(Config.ConfigParser.Parse(
            Yaml(Servers(b), global: global).Replace("127.0.0.1:0", "127.0.0.2:0", StringComparison.Ordinal), lb.Directory));
        Assert.NotEqual(frontend, lb.Frontend());
        using (var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await Assert.ThrowsAsync<SocketException>(async () => await refused.ConnectAsync(frontend));
        }

        var (moved, movedName) = await lb.ConnectAsync();
        Assert.Equal("b", movedName);
        Assert.True(await EchoesAsync(old, "after reload 3"));
        Assert.True(await EchoesAsync(fresh, "after reload 3"));
        Assert.Equal(3, lb.Host.Reloads);
        old.Dispose();
        fresh.Dispose();
        moved.Dispose();
    }

    [Fact]
    public async Task Drain_sends_no_new_clients_and_maint_none_at_all()
    {
        using var a = new TestBackend("a");
        using var b = new TestBackend("b");
        await using var lb = await StartAsync(Yaml(Servers(a, b)));
        Assert.True(lb.Host.SetServerState("be", "a", ServerAdminState.Drain));
        for (var i = 0; i < 4; i++)
        {
            var (s, name) = await lb.ConnectAsync();
            Assert.Equal("b", name);
            s.Dispose();
        }

        Assert.Equal("DRAIN", lb.Server("be", "a").Admin);
        Assert.True(lb.Host.SetServerState("be", "a", ServerAdminState.Ready));
        Assert.False(lb.Host.SetServerState("be", "nope", ServerAdminState.Maint));
    }
}
