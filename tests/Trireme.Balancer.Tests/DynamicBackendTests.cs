// Proves the dynamic backend: a backend with `kubernetes:` follows the default/kubernetes Endpoints
// object served by a Kestrel fake of the API, so an address added to it joins the pool and a removed
// one leaves it, with no reload. The two backends listen on 127.0.0.21 and 127.0.0.22 with the same
// port, as API servers on different nodes would.
using System.Net;
using Trireme.Client.Tests;
using static Trireme.Balancer.Tests.LbTestHost;

namespace Trireme.Balancer.Tests;

public sealed class DynamicBackendTests
{
    [Fact]
    public async Task Servers_follow_the_kubernetes_endpoints_without_reload()
    {
        using var a = new TestBackend("a", IPAddress.Parse("127.0.0.21"));
        using var b = new TestBackend("b", IPAddress.Parse("127.0.0.22"), a.Port);
        await using var fake = await FakeApiServer.StartAsync();
        fake.Put("kubernetes", ("127.0.0.21", a.Port));

        var yaml = """
            frontends:
              - { name: fe, bind: "127.0.0.1:0", backend: apiservers }
            backends:
              - name: apiservers
                check: { type: tcp, inter: 100ms, timeout: 1s }
                kubernetes: { kubeconfig: ./kubeconfig }
            """;
        var dir = Directory.CreateTempSubdirectory("trireme-lb-dyn-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "kubeconfig"), $"""
                apiVersion: v1
                kind: Config
                current-context: lb
                clusters:
                - name: fake
                  cluster: {"{"} server: "{fake.BaseAddress}" {"}"}
                users:
                - name: lb
                  user: {"{"} token: lb-token {"}"}
                contexts:
                - name: lb
                  context: {"{"} cluster: fake, user: lb {"}"}
                """);
            await using var host = new Runtime.BalancerHost(Config.ConfigParser.Parse(yaml, dir));
            await host.StartAsync();
            var frontend = host.FrontendEndPoint("fe");
            int Servers() => host.Snapshot().Backends[0].Servers.Count;

            await WaitUntilAsync(() => Servers() == 1, "first endpoint followed");
            Assert.Equal("a", await Greeting(frontend));

            fake.Put("kubernetes", ("127.0.0.21", a.Port), ("127.0.0.22", a.Port));
            await WaitUntilAsync(() => Servers() == 2, "second endpoint joined");
            var names = new HashSet<string>();
            for (var i = 0; i < 4; i++)
            {
                names.Add(await Greeting(frontend));
            }

            Assert.Equal(["a", "b"], names.Order());

            fake.Put("kubernetes", ("127.0.0.22", a.Port));
            await WaitUntilAsync(() => Servers() == 1, "first endpoint left");
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal("b", await Greeting(frontend));
            }

            Assert.Equal("Bearer lb-token", fake.LastAuthorization);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string> Greeting(IPEndPoint frontend)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork,
            System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(frontend);
        return await ReadLineAsync(socket, TimeSpan.FromSeconds(20));
    }
}
