using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

/// <summary>
/// kube-apiserver's lease endpoint reconciler: every server keeps a key
/// /registry/masterleases/&lt;ip&gt;:&lt;port&gt; holding its expiry; each round it renews its own key,
/// drops expired ones, and rewrites Service and Endpoints default/kubernetes to list exactly the
/// live servers. A dead server's address is gone within one TTL; a clean shutdown removes it at once.
/// Expiry is wall-clock time written into the value (servers' clocks are assumed NTP-close, as
/// kube-apiserver's leases on etcd TTLs also assume bounded skew).
/// </summary>
public sealed class EndpointReconciler(ApiServerContext server, ILogger log) : IAsyncDisposable
{
    public const string LeasePrefix = "/registry/masterleases/";

    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    private string LeaseKey => LeasePrefix + server.AdvertisedAddress;

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    private async Task LoopAsync(CancellationToken ct)
    {
        var interval = server.Options.EndpointLeaseTtl / 3;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ReconcileAsync(true, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogWarning(ex, "endpoint reconcile failed; retrying");
            }

            try
            {
                await Task.Delay(interval, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task ReconcileAsync(bool alive, CancellationToken ct)
    {
        if (server.AdvertisedAddress.Length == 0)
        {
            return;
        }

        var now = server.Clock.GetUtcNow();
        if (alive)
        {
            var value = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["address"] = server.AdvertisedAddress,
                ["expires"] = now.Add(server.Options.EndpointLeaseTtl).ToUnixTimeSeconds(),
            }.ToJsonString());
            var existing = await server.Store.GetAsync(LeaseKey, ct).ConfigureAwait(false);
            if (existing is null)
            {
                await server.Store.CreateAsync(LeaseKey, value, ct).ConfigureAwait(false);
            }
            else
            {
                await server.Store.UpdateAsync(LeaseKey, value, existing.ModRevision, ct).ConfigureAwait(false);
            }
        }
        else
        {
            await server.Store.DeleteAsync(LeaseKey, 0, ct).ConfigureAwait(false);
        }

        var live = new SortedSet<string>(StringComparer.Ordinal);
        var leases = await server.Store.ListAsync(LeasePrefix, "", 0, 0, ct).ConfigureAwait(false);
        foreach (var kv in leases.Items)
        {
            var node = JsonNode.Parse(kv.Value);
            if (ObjectFields.Int(node, "expires") is { } expires && expires > now.ToUnixTimeSeconds())
            {
                live.Add(ObjectFields.Str(node, "address") ?? "");
            }
            else
            {
                await server.Store.DeleteAsync(kv.Key, kv.ModRevision, ct).ConfigureAwait(false);
            }
        }

        await EnsureServiceAsync(ct).ConfigureAwait(false);
        await WriteEndpointsAsync(live, ct).ConfigureAwait(false);
    }

    private async Task EnsureServiceAsync(CancellationToken ct)
    {
        var services = server.Registry.Find("", "v1", "services")!;
        if (await server.Objects.GetAsync(services, "default", "kubernetes", ct).ConfigureAwait(false) is not null)
        {
            return;
        }

        var ip = server.Allocator.KubernetesServiceIp;
        var service = new JsonObject
        {
            ["kind"] = "Service", ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = "kubernetes", ["namespace"] = "default",
                ["labels"] = new JsonObject { ["component"] = "apiserver", ["provider"] = "kubernetes" },
            },
            ["spec"] = new JsonObject
            {
                ["type"] = "ClusterIP", ["clusterIP"] = ip, ["clusterIPs"] = new JsonArray(ip),
                ["ports"] = new JsonArray(new JsonObject
                {
                    ["name"] = "https", ["protocol"] = "TCP", ["port"] = 443, ["targetPort"] = server.Options.SecurePort,
                }),
            },
        };
        await server.CreateIfAbsentAsync(services, service, ct).ConfigureAwait(false);
    }

    private async Task WriteEndpointsAsync(SortedSet<string> live, CancellationToken ct)
    {
        var endpoints = server.Registry.Find("", "v1", "endpoints")!;
        var subsets = new JsonArray();
        foreach (var group in live.Select(Split).GroupBy(a => a.Port).OrderBy(g => g.Key))
        {
            subsets.Add(new JsonObject
            {
                ["addresses"] = new JsonArray(group.Select(a => (JsonNode)new JsonObject { ["ip"] = a.Ip }).ToArray()),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = group.Key, ["protocol"] = "TCP" }),
            });
        }

        var current = await server.Objects.GetAsync(endpoints, "default", "kubernetes", ct).ConfigureAwait(false);
        if (current is null)
        {
            var obj = new JsonObject
            {
                ["kind"] = "Endpoints", ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = "kubernetes", ["namespace"] = "default",
                    ["labels"] = new JsonObject { ["endpointslice.kubernetes.io/skip-mirror"] = "true" },
                },
                ["subsets"] = subsets,
            };
            await server.CreateIfAbsentAsync(endpoints, obj, ct).ConfigureAwait(false);
            return;
        }

        var (existing, modRevision) = current.Value;
        if (JsonNode.DeepEquals(existing["subsets"], subsets))
        {
            return;
        }

        existing["subsets"] = subsets;
        try
        {
            await server.Objects.UpdateAsync(endpoints, existing, modRevision, ct).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.Code == 409)
        {
            // Another server reconciled at the same moment; the next round converges.
        }
    }

    private static (string Ip, int Port) Split(string address)
    {
        var colon = address.LastIndexOf(':');
        return (address[..colon].Trim('[', ']'), int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await ReconcileAsync(false, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                log.LogDebug(ex, "could not remove this server from the kubernetes endpoints on shutdown");
            }
        }

        _stop.Dispose();
    }
}
