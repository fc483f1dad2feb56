using System.CommandLine;
using Trireme.Cli.Composition;
using Trireme.Store;

namespace Trireme.Cli.Commands;

/// <summary>
/// <c>trireme up</c>: a whole local control plane on loopback addresses for development. It starts a
/// list of roles in order and stops them in reverse on Ctrl-C/SIGTERM. Today the list holds the store
/// (3 members on 127.0.0.11-13); later roles (API server, balancer, VIP) join by adding an
/// <see cref="IUpRole"/> to <see cref="Roles"/>.
/// </summary>
public static class UpCommand
{
    /// <summary>One role of the local cluster.</summary>
    public interface IUpRole
    {
        string Name { get; }

        /// <summary>Starts the role and waits until it serves; writes what the user needs to know.</summary>
        Task StartAsync(UpContext context, CancellationToken cancellationToken);

        Task StopAsync();
    }

    /// <summary>What every role gets: where to keep data, how to run trireme, where to print.</summary>
    public sealed record UpContext(string DataDir, IReadOnlyList<string> TriremeCommand, TextWriter Output, int StoreClientPort, int StorePeerPort)
    {
        /// <summary>The VIP (control-plane endpoint); nodes are the next three addresses (127.0.0.11-13).</summary>
        public string Vip { get; init; } = "127.0.0.10";

        public int ApiServerPort { get; init; } = 6443;

        public int LbPort { get; init; } = 8443;

        public int StatsPort { get; init; } = 9090;

        public int VrrpPort { get; init; } = 5112;

        /// <summary>Filled by the store role: one client URL per node, in node order.</summary>
        public List<string> StoreClientUrls { get; } = [];

        public string PkiDir => Path.Combine(DataDir, "pki");

        public string NodeAddress(int node) => UpRoles.NodeAddress(Vip, node);
    }

    /// <summary>Roles started in this order and stopped in reverse.</summary>
    public static IReadOnlyList<Func<IUpRole>> Roles { get; } =
        [() => new StoreRole(), () => new UpRoles.PkiRole(), () => new UpRoles.ApiServerRole(), () => new UpRoles.EdgeRole()];

    public static Command Create()
    {
        var command = new Command("up", "Start a local highly-available cluster on loopback addresses (store, API server and VIP-gated balancer on 127.0.0.11-13, VIP 127.0.0.10).");
        var dataDir = new Option<string>("--data-dir") { Description = "Where members keep their data.", DefaultValueFactory = _ => "./.trireme" };
        var clientPort = new Option<int>("--store-client-port") { Description = "Store client port on each address (first run only).", DefaultValueFactory = _ => 2379 };
        var peerPort = new Option<int>("--store-peer-port") { Description = "Store peer port on each address (first run only).", DefaultValueFactory = _ => 2380 };
        var apiPort = new Option<int>("--apiserver-port") { Description = "API server secure port on each node address.", DefaultValueFactory = _ => 6443 };
        var lbPort = new Option<int>("--lb-port") { Description = "Balancer frontend port on the VIP (the kubeconfig's server).", DefaultValueFactory = _ => 8443 };
        var statsPort = new Option<int>("--stats-port") { Description = "Balancer stats port on each node address.", DefaultValueFactory = _ => 9090 };
        var vrrpPort = new Option<int>("--vrrp-port") { Description = "UDP port of the loopback VRRP adverts.", DefaultValueFactory = _ => 5112 };
        command.Options.Add(dataDir);
        command.Options.Add(clientPort);
        command.Options.Add(peerPort);
        command.Options.Add(apiPort);
        command.Options.Add(lbPort);
        command.Options.Add(statsPort);
        command.Options.Add(vrrpPort);
        command.SetAction((parse, ct) => RunAsync(new UpContext(Path.GetFullPath(parse.GetValue(dataDir)!), TriremeCommand(),
            parse.InvocationConfiguration.Output, parse.GetValue(clientPort), parse.GetValue(peerPort))
        {
            ApiServerPort = parse.GetValue(apiPort),
            LbPort = parse.GetValue(lbPort),
            StatsPort = parse.GetValue(statsPort),
            VrrpPort = parse.GetValue(vrrpPort),
        }, ct));
        return command;
    }

    private static async Task<int> RunAsync(UpContext context, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        var started = new List<IUpRole>();
        var exitCode = 0;
        try
        {
            foreach (var create in Roles)
            {
                var role = create();
                started.Add(role);
                await context.Output.WriteLineAsync($"starting {role.Name}...").ConfigureAwait(false);
                await role.StartAsync(context, stop.Token).ConfigureAwait(false);
            }

            await context.Output.WriteLineAsync($"  kubectl --kubeconfig {Path.Combine(context.PkiDir, "admin.conf")} get cs").ConfigureAwait(false);
            await context.Output.WriteLineAsync("trireme up: running; press Ctrl-C to stop.").ConfigureAwait(false);
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C / SIGTERM.
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            await context.Output.WriteLineAsync($"trireme up: {e.Message}").ConfigureAwait(false);
            exitCode = 1;
        }

        started.Reverse();
        foreach (var role in started)
        {
            await context.Output.WriteLineAsync($"stopping {role.Name}...").ConfigureAwait(false);
            await role.StopAsync().ConfigureAwait(false);
        }

        await context.Output.WriteLineAsync("trireme up: stopped.").ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>How to start this same trireme (an apphost, or `dotnet trireme.dll`).</summary>
    private static List<string> TriremeCommand()
    {
        var process = Environment.ProcessPath ?? "trireme";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, typeof(UpCommand).Assembly.Location]
            : [process];
    }

    private sealed class StoreRole : IUpRole
    {
        private LocalStoreCluster? _cluster;

        public string Name => "store (3 members)";

        public async Task StartAsync(UpContext context, CancellationToken cancellationToken)
        {
            _cluster = LocalStoreCluster.Start(context.TriremeCommand, Path.Combine(context.DataDir, "store"), 3,
                context.StoreClientPort, context.StorePeerPort, context.Output);
            var members = await _cluster.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            foreach (var (name, id, isLeader) in members)
            {
                await context.Output.WriteLineAsync($"  member {name} id {id:x16}{(isLeader ? "  <- leader" : "")}").ConfigureAwait(false);
            }

            context.StoreClientUrls.AddRange(_cluster.Members.Select(m => m.Client));
            await context.Output.WriteLineAsync($"  reach it with: ETCDCTL_API=3 etcdctl --endpoints {_cluster.Endpoints} member list")
                .ConfigureAwait(false);
        }

        public async Task StopAsync()
        {
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
