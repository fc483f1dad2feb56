// Proves that connections which misbehave do not live forever: one that sends nothing is closed by the
// tunnel timeout, one that half-closes while the server never answers is closed by the client/server
// timeout, and one reset mid-stream is cleaned up at once (the backend sees its side closed, the
// balancer's session count returns to zero). Each runs on both forwarding engines (epoll and
// sockets). Timeouts are a few hundred milliseconds; waits poll.
using System.Net.Sockets;
using static Trireme.Balancer.Tests.LbTestHost;

namespace Trireme.Balancer.Tests;

public sealed class CleanupTests
{
    private static string Yaml(TestBackend backend, string timeouts, string engine = "epoll") => $$"""
        global: { engine: {{engine}} }
        frontends:
          - { name: fe, bind: "127.0.0.1:0", backend: be }
        backends:
          - name: be
            timeouts: {{timeouts}}
            servers:
              - { name: {{backend.Name}}, address: 127.0.0.1:{{backend.Port}} }
        """;

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task A_connection_that_sends_nothing_is_closed_by_the_tunnel_timeout(string engine)
    {
        using var a = new TestBackend("a") { Silent = true };
        await using var lb = await StartAsync(Yaml(a, "{ tunnel: 300ms }", engine));
        var (socket, _) = await lb.ConnectAsync();
        Assert.True(await ClosedWithinAsync(socket, TimeSpan.FromSeconds(20)));
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].CurrentSessions == 0, "session gone");
        Assert.True(lb.Host.Timeouts >= 1);
        socket.Dispose();
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task A_half_open_connection_is_closed_by_the_client_and_server_timeouts(string engine)
    {
        using var a = new TestBackend("a") { Silent = true };
        // The tunnel timeout alone would hold it an hour; the half-closed session must go much sooner.
        await using var lb = await StartAsync(Yaml(a, "{ tunnel: 1h, client: 300ms, server: 300ms }", engine));
        var (socket, _) = await lb.ConnectAsync();
        socket.Shutdown(SocketShutdown.Send);
        Assert.True(await ClosedWithinAsync(socket, TimeSpan.FromSeconds(20)));
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].CurrentSessions == 0, "session gone");
        socket.Dispose();
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task A_client_reset_mid_stream_ends_the_session(string engine)
    {
        using var a = new TestBackend("a");
        await using var lb = await StartAsync(Yaml(a, "{ tunnel: 1h }", engine));
        var (socket, _) = await lb.ConnectAsync();
        Assert.True(await EchoesAsync(socket, "some bytes"));
        await socket.SendAsync(new byte[50_000]);
        socket.LingerState = new LingerOption(true, 0);
        socket.Dispose();
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].CurrentSessions == 0, "session gone");
        await WaitUntilAsync(() => lb.Host.Snapshot().Backends[0].CurrentSessions == 0, "server slot freed");
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task A_server_that_is_not_listening_is_retried_then_the_client_is_closed(string engine)
    {
        using var a = new TestBackend("a");
        a.Stop();
        await using var lb = await StartAsync(Yaml(a, "{ connect: 1s }", engine));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(lb.Frontend());
        Assert.True(await ClosedWithinAsync(socket, TimeSpan.FromSeconds(20)));
        await WaitUntilAsync(() => lb.Host.Snapshot().Frontends[0].Rejected == 1, "counted as rejected");
        Assert.Equal(4, lb.Server("be", "a").ConnectErrors);
        socket.Dispose();
    }
}
