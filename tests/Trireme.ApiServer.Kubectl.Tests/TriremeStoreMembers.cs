// A 3-member `trireme store` cluster of real processes for the kubectl tests: members on 127.0.0.51..53
// with free client and peer ports, data in one temp dir, each process stopped by its own PID on
// dispose. A copy of the minimum of Trireme.Store.Tests' TriremeStoreCluster (start and stop only);
// readiness is not probed here because the API servers' /readyz (which checks the store) is awaited.
using System.Globalization;
using System.Net;
using Trireme.Testing;

namespace Trireme.ApiServer.Kubectl.Tests;

public sealed class TriremeStoreMembers : IDisposable
{
    private const int MemberCount = 3;
    private readonly TempDirectory _root = new("trireme-kubectl-store");
    private readonly List<ChildProcess> _processes = [];

    /// <summary>Each member's client URL, in member order (m1, m2, m3).</summary>
    public IReadOnlyList<string> ClientUrls { get; }

    public string Logs => string.Join("\n", _processes.Select((p, i) => $"--- store m{i + 1}:\n{p.OutputTail}"));

    public TriremeStoreMembers(string triremeDll)
    {
        var token = "kubectl-" + Guid.NewGuid().ToString("N")[..10];
        var clients = new List<string>();
        var peers = new List<string>();
        for (var i = 0; i < MemberCount; i++)
        {
            var address = IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.0.0.{51 + i}"));
            clients.Add(string.Create(CultureInfo.InvariantCulture, $"http://{address}:{FreePort.Get(address)}"));
            peers.Add(string.Create(CultureInfo.InvariantCulture, $"http://{address}:{FreePort.Get(address)}"));
        }

        ClientUrls = clients;
        var initialCluster = string.Join(",", peers.Select((p, i) => $"m{i + 1}={p}"));
        try
        {
            for (var i = 0; i < MemberCount; i++)
            {
                _processes.Add(ChildProcess.Start("dotnet",
                [
                    triremeDll, "store", "--name", $"m{i + 1}", "--data-dir", Path.Combine(_root.Path, $"m{i + 1}"),
                    "--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
                    "--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
                    "--initial-cluster", initialCluster, "--initial-cluster-state", "new",
                    "--initial-cluster-token", token, "--log-level", "warning",
                ]));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        _root.Dispose();
    }
}
