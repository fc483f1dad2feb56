using System.Net;
using Microsoft.Extensions.Logging;
using Trireme.Balancer.Config;
using Trireme.Client;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// Dynamic backend: follows one Endpoints object (by default <c>default/kubernetes</c>, which the API
/// servers keep listing themselves in) and makes its addresses the backend's servers. A node added to
/// the control plane joins the pool, a removed one leaves it, with no reload. Servers keep their health
/// while their address stays; a new one starts UP and is checked on the next tick like any server.
/// </summary>
internal sealed partial class KubernetesBackendSource(BackendRuntime runtime, KubernetesSourceConfig config, ILogger log)
{
    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            using var client = new KubeClient(Kubeconfig.Load(config.Kubeconfig));
            var watcher = new ListWatcher<Endpoints>(client, $"/api/v1/namespaces/{config.Namespace}/endpoints",
                $"fieldSelector=metadata.name%3D{Uri.EscapeDataString(config.Endpoints)}", (_, e) => e.Metadata.ResourceVersion);
            await watcher.RunAsync(
                items => Apply(items.FirstOrDefault(e => e.Metadata.Name == config.Endpoints)),
                (type, endpoints) => Apply(type == "DELETED" ? null : endpoints),
                TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Backend removed by a reload, or shutdown.
        }
        catch (Exception e) when (e is KubeconfigException or IOException or FormatException
            or System.Security.Cryptography.CryptographicException)
        {
            LogSourceFailed(log, runtime.Name, e.Message);
        }
    }

    private void Apply(Endpoints? endpoints)
    {
        var servers = ServersOf(endpoints, config.PortName);
        runtime.SetServers(servers);
        LogServers(log, runtime.Name, servers.Count);
    }

    /// <summary>Every address with the named port (or each subset's first port), as servers named
    /// <c>ip_port</c> so names stay URL- and label-safe.</summary>
    internal static List<ServerConfig> ServersOf(Endpoints? endpoints, string? portName)
    {
        var servers = new List<ServerConfig>();
        foreach (var subset in endpoints?.Subsets ?? [])
        {
            var port = portName is null ? subset.Ports?.FirstOrDefault() : subset.Ports?.FirstOrDefault(p => p.Name == portName);
            if (port is null || port.Port is < 1 or > 65535)
            {
                continue;
            }

            foreach (var address in subset.Addresses ?? [])
            {
                if (!IPAddress.TryParse(address.Ip, out var ip))
                {
                    continue;
                }

                var name = $"{ip}_{port.Port}".Replace(':', '-');
                if (servers.All(s => s.Name != name))
                {
                    servers.Add(new ServerConfig(name, new IPEndPoint(ip, port.Port), 1, false, 0));
                }
            }
        }

        return servers;
    }

    [LoggerMessage(EventId = 7010, Level = LogLevel.Information, Message = "backend {Backend} now follows {Count} servers from Endpoints")]
    private static partial void LogServers(ILogger log, string backend, int count);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Error, Message = "backend {Backend} cannot follow Endpoints: {Reason}")]
    private static partial void LogSourceFailed(ILogger log, string backend, string reason);
}
