// Proves the keepalived+HAProxy composition of `trireme lb --vip-config`: two VIP-gated balancers
// (loopback VRRP, no root) over one echo backend, on a random 127.x.y block and free ports. Only the
// higher-priority master's frontend accepts on the VIP; after the master stops gracefully (priority 0)
// the backup binds the VIP and accepts. State is polled with generous deadlines, never slept on.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Balancer.Config;
using Trireme.Cli.Composition;
using Trireme.Vrrp;

namespace Trireme.Cli.Tests;

public sealed class VipGatedBalancerTests
{
    [Fact]
    public async Task OnlyTheMasterServesTheVipAndTheBackupTakesOverOnStop()
    {
        var ct = TestContext.Current.CancellationToken;
        var block = $"127.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(1, 250)}";
        var vip = $"{block}.10";
        var frontendPort = FreeTcpPort();
        var vrrpPort = FreeUdpPort();
        using var backend = new TcpListener(IPAddress.Loopback, 0);
        backend.Start();
        using var echoStop = new CancellationTokenSource();
        var echo = EchoAsync(backend, echoStop.Token);
        var backendPort = ((IPEndPoint)backend.LocalEndpoint).Port;

        var a = Create(block, 1, 150, vip, frontendPort, vrrpPort, backendPort);
        var b = Create(block, 2, 100, vip, frontendPort, vrrpPort, backendPort);
        try
        {
            await a.StartAsync();
            await b.StartAsync();
            await WaitUntilAsync(() => a.Serving, "the priority-150 node never bound the VIP", ct);
            Assert.Equal("hello", await EchoThroughAsync(vip, frontendPort, "hello", ct));
            Assert.False(b.Serving);

            await a.DisposeAsync();
            await WaitUntilAsync(() => b.Serving, "the backup never bound the VIP after the master stopped", ct);
            await WaitUntilAsync(async () => await EchoThroughAsync(vip, frontendPort, "again", ct) == "again",
                "the VIP never answered from the backup", ct);
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
            await echoStop.CancelAsync();
            backend.Stop();
            try
            {
                await echo;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }
    }

    private static VipGatedBalancer Create(string block, int node, int priority, string vip, int frontendPort, int vrrpPort, int backendPort)
    {
        var self = $"{block}.{10 + node}";
        var peer = $"{block}.{10 + (3 - node)}";
        var lb = ConfigParser.Parse($"""
            frontends:
              - name: api
                bind: {vip}:{frontendPort}
                backend: echo
            backends:
              - name: echo
                balance: roundrobin
                check: {"{"} type: tcp, inter: 500ms, rise: 1, fall: 2 {"}"}
                servers:
                  - {"{"} name: echo1, address: 127.0.0.1:{backendPort} {"}"}
            """, Path.GetTempPath());
        var vrrp = VrrpConfigLoader.Parse($"""
            mode: loopback
            name: test{node}
            virtualRouterId: 51
            priority: {priority}
            version: 3
            advertInterval: 0.1
            sourceIp: {self}
            unicastPeers: [{peer}]
            loopbackPort: {vrrpPort}
            virtualIps: [{vip}]
            """);
        return new VipGatedBalancer(lb, vrrp, NullLoggerFactory.Instance);
    }

    private static async Task<string> EchoThroughAsync(string address, int port, string text, CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await client.ConnectAsync(IPAddress.Parse(address), port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text), timeout.Token);
            var buffer = new byte[text.Length];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return "";
        }
    }

    private static async Task EchoAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(ct);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var buffer = new byte[1024];
                    try
                    {
                        int n;
                        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
                        {
                            await stream.WriteAsync(buffer.AsMemory(0, n), ct);
                        }
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException)
                    {
                        // Client gone.
                    }
                }
            }, ct);
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition, string message, CancellationToken ct) =>
        WaitUntilAsync(() => Task.FromResult(condition()), message, ct);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string message, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(50, ct);
        }
    }

    private static int FreeTcpPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static int FreeUdpPort()
    {
        using var s = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.Client.LocalEndPoint!).Port;
    }
}
