using System.CommandLine;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Trireme.Balancer.Config;
using Trireme.Balancer.Runtime;

namespace Trireme.Cli.Commands;

/// <summary>
/// <c>trireme lb --config FILE</c> runs the L4 balancer (SIGHUP or a change to FILE reloads it);
/// <c>trireme lb --check-config FILE</c> validates a file and exits; <c>trireme lb set-server</c> puts a
/// server of a running balancer in ready/drain/maint through its stats endpoint, with the credentials
/// from the same configuration file.
/// </summary>
public static class LbCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "Run the balancer with this YAML configuration." };
        var check = new Option<FileInfo?>("--check-config") { Description = "Validate this configuration and exit (0 valid, 1 invalid)." };
        var vipConfig = new Option<FileInfo?>("--vip-config")
        {
            Description = "Also run this VRRP instance (trireme vip's YAML); frontends bound on its VIPs listen only while this node holds the VIP.",
        };
        var command = new Command("lb", "L4 TCP load balancer (HAProxy's role): health checks, stick tables, stats.");
        command.Options.Add(config);
        command.Options.Add(check);
        command.Options.Add(vipConfig);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(check) is { } checkFile)
            {
                return CheckConfig(checkFile.FullName, output, error);
            }

            if (parse.GetValue(config) is not { } configFile)
            {
                await error.WriteLineAsync("give --config FILE to run, or --check-config FILE to validate").ConfigureAwait(false);
                return 2;
            }

            return await RunAsync(configFile.FullName, parse.GetValue(vipConfig)?.FullName, error, ct).ConfigureAwait(false);
        });
        command.Subcommands.Add(CreateSetServer());
        return command;
    }

    private static int CheckConfig(string path, TextWriter output, TextWriter error)
    {
        try
        {
            var parsed = ConfigParser.ParseFile(path);
            output.WriteLine($"configuration valid: {parsed.Frontends.Count} frontend(s), {parsed.Backends.Count} backend(s), "
                + $"{parsed.Backends.Sum(b => b.Servers.Count)} server(s)");
            return 0;
        }
        catch (ConfigException e)
        {
            error.WriteLine($"{path}: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> RunAsync(string path, string? vipPath, TextWriter error, CancellationToken ct)
    {
        // Run socket continuations on the epoll thread instead of hopping to the thread pool: the
        // forwarding loops never block, and the hop is most of a proxy's per-message cost. Read once
        // by the runtime when the first socket is created, so it must be set before that.
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
        {
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }

        BalancerConfig parsed;
        // What the file looked like when it was read: an edit made before the watcher below exists
        // (the balancer is already serving by then) must still cause a reload, not be lost.
        var parsedStamp = FileStamp(path);
        try
        {
            parsed = ConfigParser.ParseFile(path);
        }
        catch (ConfigException e)
        {
            await error.WriteLineAsync($"{path}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
        Trireme.Vrrp.VrrpConfig? vrrp = null;
        if (vipPath is not null)
        {
            try
            {
                vrrp = Trireme.Vrrp.VrrpConfigLoader.Load(vipPath);
            }
            catch (Exception e) when (e is Trireme.Vrrp.VrrpConfigException or IOException)
            {
                await error.WriteLineAsync($"{vipPath}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        }

        IAsyncDisposable running;
        Func<Task> start;
        Func<Task> reload;
        if (vrrp is null)
        {
            var plain = new BalancerHost(parsed, loggers);
            (running, start, reload) = (plain, plain.StartAsync, () => plain.ReloadFromFileAsync(path));
        }
        else
        {
            var gated = new Composition.VipGatedBalancer(parsed, vrrp, loggers);
            (running, start, reload) = (gated, gated.StartAsync, async () =>
            {
                try
                {
                    await gated.ReloadAsync(ConfigParser.ParseFile(path)).ConfigureAwait(false);
                }
                catch (ConfigException e)
                {
                    await error.WriteLineAsync($"{path}: reload refused: {e.Message}").ConfigureAwait(false);
                }
            });
        }

        // Disposing the gated balancer stops VRRP gracefully first (priority 0), then the listeners.
        await using (running.ConfigureAwait(false))
        {
            await start().ConfigureAwait(false);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var reloads = System.Threading.Channels.Channel.CreateBounded<bool>(
                new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });
            using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                reloads.Writer.TryWrite(true);
            });
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.Cancel();
            });
            using var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
            };
            watcher.Changed += (_, _) => reloads.Writer.TryWrite(true);
            watcher.Created += (_, _) => reloads.Writer.TryWrite(true);
            watcher.Renamed += (_, _) => reloads.Writer.TryWrite(true);
            watcher.EnableRaisingEvents = true;
            if (FileStamp(path) != parsedStamp)
            {
                reloads.Writer.TryWrite(true);
            }

            try
            {
                while (await reloads.Reader.WaitToReadAsync(stop.Token).ConfigureAwait(false))
                {
                    // Editors write a file in several steps: let them finish before reading it.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), stop.Token).ConfigureAwait(false);
                    while (reloads.Reader.TryRead(out _))
                    {
                    }

                    await reload().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // SIGINT / SIGTERM.
            }
        }

        return 0;
    }

    private static (DateTime Modified, long Length) FileStamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : default;
    }

    private static Command CreateSetServer()
    {
        var config = new Option<FileInfo>("--config") { Description = "The running balancer's configuration (for the stats address and credentials).", Required = true };
        var backend = new Option<string>("--backend") { Description = "Backend name.", Required = true };
        var server = new Option<string>("--server") { Description = "Server name.", Required = true };
        var state = new Option<string>("--state") { Description = "ready, drain or maint.", Required = true };
        state.AcceptOnlyFromAmong("ready", "drain", "maint");
        var command = new Command("set-server", "Put a server of a running balancer in ready, drain or maint (through its stats endpoint).");
        command.Options.Add(config);
        command.Options.Add(backend);
        command.Options.Add(server);
        command.Options.Add(state);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            BalancerConfig parsed;
            try
            {
                parsed = ConfigParser.ParseFile(parse.GetValue(config)!.FullName);
            }
            catch (ConfigException e)
            {
                await error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return 1;
            }

            if (parsed.Stats is not { } stats)
            {
                await error.WriteLineAsync("the configuration has no stats section: the balancer has no admin endpoint").ConfigureAwait(false);
                return 1;
            }

            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{stats.User}:{stats.Password}")));
            var url = $"http://{stats.Bind}/admin?backend={Uri.EscapeDataString(parse.GetValue(backend)!)}"
                + $"&server={Uri.EscapeDataString(parse.GetValue(server)!)}&state={parse.GetValue(state)}";
            try
            {
                using var response = await http.PostAsync(url, null, ct).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                await (response.IsSuccessStatusCode ? output : error).WriteAsync(body).ConfigureAwait(false);
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (HttpRequestException e)
            {
                await error.WriteLineAsync($"cannot reach the balancer at {stats.Bind}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
