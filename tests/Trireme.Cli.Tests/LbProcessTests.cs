// Proves the operator-facing side of `trireme lb` on the real process: a change to the configuration
// file reloads it (new connections follow the new server list) while an established connection keeps
// forwarding; SIGHUP reloads even an unchanged file; an invalid edit is refused and the running
// configuration keeps serving; `trireme lb set-server` puts a server in maint (no new connection goes to
// it) and back to ready through the stats endpoint; SIGTERM stops the process with exit code 0.
// Echo backends, frontend and stats ports are free loopback ports; every wait polls with a deadline.
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Trireme.Testing;

namespace Trireme.Cli.Tests;

public sealed class LbProcessTests
{
    private const string Password = "lb-process-test";

    [Fact]
    public async Task File_change_and_sighup_reload_keep_connections_refuse_bad_edits_and_set_server_drives_admin_state()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("trireme-lb-process");
        using var a = new NamedEcho("a");
        using var b = new NamedEcho("b");
        var frontend = FreePort.Get(IPAddress.Loopback);
        var stats = FreePort.Get(IPAddress.Loopback);
        var config = Path.Combine(dir.Path, "lb.yaml");
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "stats.pass"), Password + "\n", ct);
        await File.WriteAllTextAsync(config, Yaml(frontend, stats, ("a", a.Port)), ct);

        using var lb = ChildProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "trireme.dll"), "lb", "--config", config]);
        try
        {
            await Poll.UntilAsync(async () => await GreetingAsync(frontend) == "a", TimeSpan.FromSeconds(60), "lb to serve a");
            using var established = await OpenAsync(frontend);
            Assert.Equal("a", await ReadLineAsync(established));

            // A file change: b replaces a. New connections reach b; the established one still echoes via a.
            await File.WriteAllTextAsync(config, Yaml(frontend, stats, ("b", b.Port)), ct);
            try
            {
                await Poll.UntilAsync(async () => await GreetingAsync(frontend) == "b", TimeSpan.FromSeconds(30), "reload to b");
            }
            catch (TimeoutException)
            {
                Assert.Fail((await StatsAsync(stats)).ToString() + "\n" + lb.OutputTail);
            }
            Assert.Equal("still there", await EchoAsync(established, "still there"));
            var reloads = (await StatsAsync(stats)).GetProperty("reloads").GetInt64();
            Assert.True(reloads >= 1);

            // SIGHUP with the file unchanged: one more reload.
            Assert.Equal(0, (await ChildProcess.RunAsync("kill", ["-HUP", $"{lb.Pid}"])).ExitCode);
            await Poll.UntilAsync(async () => (await StatsAsync(stats)).GetProperty("reloads").GetInt64() > reloads,
                TimeSpan.FromSeconds(30), "SIGHUP to reload");

            // An invalid edit is refused; the running configuration keeps serving.
            await File.WriteAllTextAsync(config, Yaml(frontend, stats, ("b", b.Port)).Replace("roundrobin", "fastest", StringComparison.Ordinal), ct);
            await Poll.UntilAsync(() => lb.OutputTail.Contains("reload refused", StringComparison.Ordinal) || lb.OutputTail.Contains("fastest", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the refusal to be reported");
            Assert.Equal("b", await GreetingAsync(frontend));
            await File.WriteAllTextAsync(config, Yaml(frontend, stats, ("b", b.Port)), ct);

            // set-server: maint takes b out (no other server: the connection is closed at once), ready brings it back.
            var maint = await ChildProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "trireme.dll"), "lb", "set-server",
                "--config", config, "--backend", "apiservers", "--server", "b", "--state", "maint"]);
            Assert.True(maint.ExitCode == 0, maint.StdOut + maint.StdErr);
            Assert.Equal("MAINT", Server(await StatsAsync(stats), "b").GetProperty("admin").GetString());
            Assert.Null(await GreetingAsync(frontend));
            var ready = await ChildProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "trireme.dll"), "lb", "set-server",
                "--config", config, "--backend", "apiservers", "--server", "b", "--state", "ready"]);
            Assert.True(ready.ExitCode == 0, ready.StdOut + ready.StdErr);
            await Poll.UntilAsync(async () => await GreetingAsync(frontend) == "b", TimeSpan.FromSeconds(30), "b back after ready");

            Assert.Equal(0, (await ChildProcess.RunAsync("kill", ["-TERM", $"{lb.Pid}"])).ExitCode);
            await Poll.UntilAsync(() => lb.HasExited, TimeSpan.FromSeconds(30), "lb to exit on SIGTERM");
            Assert.Equal(0, lb.ExitCode);
        }
        finally
        {
            if (!lb.HasExited)
            {
                lb.Kill();
            }
        }
    }

    private static string Yaml(int frontend, int stats, params (string Name, int Port)[] servers) => $$"""
        frontends:
          - name: kube-apiserver
            bind: 127.0.0.1:{{frontend}}
            backend: apiservers
        backends:
          - name: apiservers
            balance: roundrobin
            check: { type: tcp, inter: 200ms, rise: 1, fall: 2 }
            servers:
        {{string.Join("\n", servers.Select(s => $"      - {{ name: {s.Name}, address: 127.0.0.1:{s.Port} }}"))}}
        stats:
          bind: 127.0.0.1:{{stats}}
          auth: { user: admin, passwordFile: ./stats.pass }
        """;

    private static JsonElement Server(JsonElement stats, string name) =>
        stats.GetProperty("backends")[0].GetProperty("servers").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    private static async Task<JsonElement> StatsAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{Password}")));
        using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/stats.json")));
        return doc.RootElement.Clone();
    }

    /// <summary>The greeting of a fresh connection through the frontend, or null if it is closed or fails.</summary>
    private static async Task<string?> GreetingAsync(int port)
    {
        try
        {
            using var socket = await OpenAsync(port);
            return await ReadLineAsync(socket);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<Socket> OpenAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    private static async Task<string?> ReadLineAsync(Socket socket)
    {
        var line = new StringBuilder();
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            if (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) == 0)
            {
                return null;
            }

            if (buffer[0] == '\n')
            {
                return line.ToString();
            }

            line.Append((char)buffer[0]);
        }
    }

    private static async Task<string?> EchoAsync(Socket socket, string text)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(text + "\n"), SocketFlags.None);
        return await ReadLineAsync(socket);
    }

    /// <summary>Greets each connection with its name and a newline, then echoes every line.</summary>
    private sealed class NamedEcho : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public NamedEcho(string name)
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptAsync(name);
        }

        public int Port { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task AcceptAsync(string name)
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = ServeAsync(client, name);
            }
        }

        private async Task ServeAsync(TcpClient client, string name)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(name + "\n"), _stop.Token);
                    var buffer = new byte[1024];
                    int read;
                    while ((read = await stream.ReadAsync(buffer, _stop.Token)) > 0)
                    {
                        await stream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
                {
                    // The client or the test is gone.
                }
            }
        }
    }
}
