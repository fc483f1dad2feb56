// Proves, with real sockets on both forwarding engines, the limits and retries that the core tests only
// prove in ticks: global and frontend maxconn hold new clients in the kernel's backlog (never more
// sessions than the limit, and the waiting client is served as soon as a session ends); a connect that
// the server never answers is given up after `timeout connect` and retried; with `redispatch` the last
// retry goes to another server, so a client whose first server refuses is still served.
using System.Net;
using System.Net.Sockets;
using static Trireme.Balancer.Tests.LbTestHost;

namespace Trireme.Balancer.Tests;

public sealed class LimitsAndRetriesTests
{
    [Theory]
    [InlineData("epoll", "global")]
    [InlineData("epoll", "frontend")]
    [InlineData("sockets", "global")]
    [InlineData("sockets", "frontend")]
    public async Task At_maxconn_a_new_client_waits_in_the_backlog_until_a_session_ends(string engine, string limit)
    {
        using var a = new TestBackend("a");
        var globalMaxConn = limit == "global" ? "maxconn: 1, " : "";
        var frontendMaxConn = limit == "frontend" ? ", maxconn: 1" : "";
        await using var lb = await StartAsync($$"""
            global: { {{globalMaxConn}}engine: {{engine}} }
            frontends:
              - { name: fe, bind: "127.0.0.1:0", backend: be{{frontendMaxConn}} }
            backends:
              - name: be
                servers:
                  - { name: a, address: 127.0.0.1:{{a.Port}} }
            """);
        var (first, _) = await lb.ConnectAsync();

        // The kernel completes the second handshake (backlog); the balancer must not take it yet.
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await second.ConnectAsync(lb.Frontend());
        var greeting = ReadLineAsync(second, TimeSpan.FromSeconds(20));
        Assert.True(await EchoesAsync(first, "the first session still forwards"));

        first.Dispose();
        Assert.Equal("a", await greeting);
        Assert.True(await EchoesAsync(second, "served once a slot freed"));
        var frontend = lb.Host.Snapshot().Frontends[0];
        Assert.Equal(1, frontend.MaxSessions);
        Assert.Equal(2, frontend.TotalSessions);
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task A_connect_the_server_never_answers_times_out_and_is_retried(string engine)
    {
        using var hole = await BlackHole.CreateAsync();
        await using var lb = await StartAsync($$"""
            global: { engine: {{engine}} }
            frontends:
              - { name: fe, bind: "127.0.0.1:0", backend: be }
            backends:
              - name: be
                timeouts: { connect: 300ms }
                retries: 1
                servers:
                  - { name: hole, address: 127.0.0.1:{{hole.Port}} }
            """);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(lb.Frontend());
        Assert.True(await ClosedWithinAsync(client, TimeSpan.FromSeconds(20)));
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].Rejected == 1, "counted as rejected");
        Assert.Equal(2, lb.Server("be", "hole").ConnectErrors);
        Assert.Equal(1, lb.Host.Snapshot().Backends[0].ConnectFailures);
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task With_redispatch_a_refused_connect_moves_to_another_server(string engine)
    {
        using var dead = new TestBackend("dead");
        dead.Stop();
        using var b = new TestBackend("b");
        // No check: the dead server stays UP, so roundrobin sends the first client to it.
        await using var lb = await StartAsync($$"""
            global: { engine: {{engine}} }
            frontends:
              - { name: fe, bind: "127.0.0.1:0", backend: be }
            backends:
              - name: be
                retries: 1
                redispatch: true
                servers:
                  - { name: dead, address: 127.0.0.1:{{dead.Port}} }
                  - { name: b, address: 127.0.0.1:{{b.Port}} }
            """);
        var (client, server) = await lb.ConnectAsync();
        Assert.Equal("b", server);
        Assert.True(await EchoesAsync(client, "redispatched"));
        var stats = lb.Server("be", "dead");
        Assert.Equal(1, stats.ConnectErrors);
        Assert.Equal(1, stats.Redispatches);
        client.Dispose();
    }

    /// <summary>A listener that never accepts, its accept queue filled by connections of its own: a
    /// further SYN is dropped by the kernel, so a connect to it neither succeeds nor fails — a server
    /// that hangs, as a connect sees it.</summary>
    private sealed class BlackHole : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Socket> _fillers = [];

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static async Task<BlackHole> CreateAsync()
        {
            var hole = new BlackHole();
            hole._listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            hole._listener.Listen(1);
            for (var i = 0; i < 16; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var unanswered = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await filler.ConnectAsync(hole._listener.LocalEndPoint!, unanswered.Token);
                    hole._fillers.Add(filler);
                }
                catch (OperationCanceledException)
                {
                    filler.Dispose();
                    return hole;
                }
            }

            hole.Dispose();
            throw new InvalidOperationException("the accept queue never filled");
        }

        public void Dispose()
        {
            foreach (var filler in _fillers)
            {
                filler.Dispose();
            }

            _listener.Dispose();
        }
    }
}
