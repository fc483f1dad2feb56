using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Trireme.Balancer.Config;
using Trireme.Balancer.Runtime;

namespace Trireme.Balancer.Tests;

/// <summary>A balancer started from YAML text on port 0, plus the small client helpers behaviour tests
/// share. Disposing it stops the balancer and removes its temp directory.</summary>
internal sealed class LbTestHost : IAsyncDisposable
{
    public const string StatsPassword = "s3cret-for-tests";

    private LbTestHost(BalancerHost host, string directory)
    {
        Host = host;
        Directory = directory;
    }

    public BalancerHost Host { get; }

    public string Directory { get; }

    public static async Task<LbTestHost> StartAsync(string yaml)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("trireme-lb-test-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "stats.pass"), StatsPassword + "\n");
        var host = new BalancerHost(ConfigParser.Parse(yaml, directory));
        await host.StartAsync();
        return new LbTestHost(host, directory);
    }

    public IPEndPoint Frontend(string name = "fe") => Host.FrontendEndPoint(name);

    /// <summary>Connects through the frontend and returns the socket and the name of the server that
    /// greeted it.</summary>
    public async Task<(Socket Socket, string Server)> ConnectAsync(string frontend = "fe")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(Frontend(frontend));
        var name = await ReadLineAsync(socket, TimeSpan.FromSeconds(20));
        return (socket, name);
    }

    public static async Task<string> ReadLineAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            var n = await socket.ReceiveAsync(one, SocketFlags.None, cts.Token);
            if (n == 0 || one[0] == '\n')
            {
                return line.ToString();
            }

            line.Append((char)one[0]);
        }
    }

    /// <summary>Sends a message and waits for the same bytes back (the backends echo).</summary>
    public static async Task<bool> EchoesAsync(Socket socket, string message)
    {
        var bytes = Encoding.ASCII.GetBytes(message);
        await socket.SendAsync(bytes);
        var got = new byte[bytes.Length];
        var filled = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (filled < got.Length)
        {
            var n = await socket.ReceiveAsync(got.AsMemory(filled), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                return false;
            }

            filled += n;
        }

        return got.AsSpan().SequenceEqual(bytes);
    }

    /// <summary>True when the peer closes the socket (EOF or reset) within the timeout.</summary>
    public static async Task<bool> ClosedWithinAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {seconds}s: {what}");
            }

            await Task.Delay(20);
        }
    }

    public Stats.ServerStats Server(string backend, string server) =>
        Host.Snapshot().Backends.Single(b => b.Name == backend).Servers.Single(s => s.Name == server);

    public HttpClient StatsClient(bool authorized = true)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://{Host.StatsEndPoint}/") };
        if (authorized)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{StatsPassword}")));
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
