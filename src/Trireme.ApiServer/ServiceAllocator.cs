using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

/// <summary>
/// Allocates Service cluster IPs and node ports. Each allocation is a key created with
/// create-if-absent in the store (/registry/trireme/serviceips/&lt;ip&gt;, .../nodeports/&lt;port&gt;), so
/// any number of active-active API servers never hand out the same value; deleting the Service
/// deletes the keys. The first address of the range is reserved for default/kubernetes, as in
/// kube-apiserver.
/// </summary>
public sealed class ServiceAllocator
{
    public const string IpPrefix = "/registry/trireme/serviceips/";
    public const string PortPrefix = "/registry/trireme/nodeports/";

    /// <summary>Random probes before a linear scan: cheap while the range is sparse, complete when it is full.</summary>
    private const int RandomProbes = 32;

    private readonly IKeyValueStore _store;
    private readonly uint _network;
    private readonly uint _size;
    private readonly int _portLow;
    private readonly int _portHigh;

    public ServiceAllocator(IKeyValueStore store, string cidr, string portRange)
    {
        _store = store;
        var slash = cidr.Split('/');
        var bytes = IPAddress.Parse(slash[0]).GetAddressBytes();
        if (bytes.Length != 4)
        {
            throw new ArgumentException("only IPv4 service ranges are supported", nameof(cidr));
        }

        var prefix = int.Parse(slash[1], CultureInfo.InvariantCulture);
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        _network = ((uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3]) & mask;
        _size = ~mask + 1;
        var ports = portRange.Split('-');
        _portLow = int.Parse(ports[0], CultureInfo.InvariantCulture);
        _portHigh = int.Parse(ports[1], CultureInfo.InvariantCulture);
    }

    /// <summary>The address default/kubernetes gets: the first usable one in the range.</summary>
    public string KubernetesServiceIp => ToIp(_network + 1);

    private static string ToIp(uint v) => $"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}";

    private bool InRange(string ip, out uint value)
    {
        value = 0;
        if (!IPAddress.TryParse(ip, out var parsed) || parsed.GetAddressBytes() is not { Length: 4 } b)
        {
            return false;
        }

        value = (uint)b[0] << 24 | (uint)b[1] << 16 | (uint)b[2] << 8 | b[3];
        return value > _network && value < _network + _size - 1;
    }

    /// <summary>Fills spec.clusterIP(s) and nodePorts; refuses (422) values out of range or taken.</summary>
    public async Task AllocateAsync(ResourceInfo r, JsonObject service, bool dryRun, CancellationToken ct)
    {
        var spec = Defaulting.Ensure(service, "spec");
        var owner = Encoding.UTF8.GetBytes($"{ObjectFields.Namespace(service)}/{ObjectFields.Name(service)}");
        var type = ObjectFields.Str(spec, "type") ?? "ClusterIP";
        var name = ObjectFields.Name(service);
        if (type != "ExternalName" && ObjectFields.Str(spec, "clusterIP") != "None")
        {
            var requested = ObjectFields.Str(spec, "clusterIP");
            string ip;
            if (!string.IsNullOrEmpty(requested))
            {
                if (!InRange(requested, out _))
                {
                    throw ApiException.Invalid(r, name, [new FieldCause("FieldValueInvalid", "spec.clusterIPs",
                        $"Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is {ToIp(_network)}/{32 - BitOperations.Log2(_size)}")]);
                }

                if (!dryRun && (await _store.CreateAsync(IpPrefix + requested, owner, ct).ConfigureAwait(false)).Outcome != WriteOutcome.Succeeded)
                {
                    throw ApiException.Invalid(r, name, [new FieldCause("FieldValueInvalid", "spec.clusterIPs",
                        $"Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: provided IP is already allocated")]);
                }

                ip = requested;
            }
            else
            {
                ip = await AllocateIpAsync(owner, dryRun, ct).ConfigureAwait(false)
                    ?? throw new ApiException(500, "InternalError", "Internal error occurred: failed to allocate a serviceIP: range is full");
            }

            spec["clusterIP"] = ip;
            spec["clusterIPs"] = new JsonArray(ip);
        }

        if (type is "NodePort" or "LoadBalancer" && spec["ports"] is JsonArray ports)
        {
            foreach (var port in ports.OfType<JsonObject>())
            {
                var requested = ObjectFields.Int(port, "nodePort");
                if (requested is > 0)
                {
                    if (requested < _portLow || requested > _portHigh)
                    {
                        throw ApiException.Invalid(r, name, [new FieldCause("FieldValueInvalid", "spec.ports[0].nodePort",
                            $"Invalid value: {requested}: provided port is not in the valid range. The range of valid ports is {_portLow}-{_portHigh}")]);
                    }

                    if (!dryRun && (await _store.CreateAsync(PortPrefix + requested, owner, ct).ConfigureAwait(false)).Outcome != WriteOutcome.Succeeded)
                    {
                        throw ApiException.Invalid(r, name, [new FieldCause("FieldValueInvalid", "spec.ports[0].nodePort",
                            $"Invalid value: {requested}: provided port is already allocated")]);
                    }
                }
                else
                {
                    port["nodePort"] = await AllocatePortAsync(owner, dryRun, ct).ConfigureAwait(false)
                        ?? throw new ApiException(500, "InternalError", "Internal error occurred: failed to allocate a nodePort: range is full");
                }
            }
        }
    }

    private async Task<string?> AllocateIpAsync(byte[] owner, bool dryRun, CancellationToken ct)
    {
        // Offsets 0 and 1 (network, kubernetes service) and the broadcast address are never handed out.
        var usable = _size - 3;
        foreach (var offset in Candidates(usable))
        {
            var ip = ToIp(_network + 2 + offset);
            if (dryRun || (await _store.CreateAsync(IpPrefix + ip, owner, ct).ConfigureAwait(false)).Outcome == WriteOutcome.Succeeded)
            {
                return ip;
            }
        }

        return null;
    }

    private async Task<int?> AllocatePortAsync(byte[] owner, bool dryRun, CancellationToken ct)
    {
        foreach (var offset in Candidates((uint)(_portHigh - _portLow + 1)))
        {
            var port = _portLow + (int)offset;
            if (dryRun || (await _store.CreateAsync(PortPrefix + port, owner, ct).ConfigureAwait(false)).Outcome == WriteOutcome.Succeeded)
            {
                return port;
            }
        }

        return null;
    }

    private static IEnumerable<uint> Candidates(uint count)
    {
        for (var i = 0; i < RandomProbes; i++)
        {
            yield return (uint)Random.Shared.NextInt64(count);
        }

        for (uint i = 0; i < count; i++)
        {
            yield return i;
        }
    }

    /// <summary>Reserves the kubernetes service address (idempotent).</summary>
    public async Task ReserveKubernetesIpAsync(CancellationToken ct) =>
        await _store.CreateAsync(IpPrefix + KubernetesServiceIp, "default/kubernetes"u8.ToArray(), ct).ConfigureAwait(false);

    public async Task ReleaseAsync(JsonObject service, CancellationToken ct)
    {
        foreach (var ip in ObjectFields.Arr(service, "spec", "clusterIPs") ?? [])
        {
            if (ip?.ToString() is { Length: > 0 } s && s != KubernetesServiceIp)
            {
                await _store.DeleteAsync(IpPrefix + s, 0, ct).ConfigureAwait(false);
            }
        }

        foreach (var port in ObjectFields.Arr(service, "spec", "ports") ?? [])
        {
            if (ObjectFields.Int(port, "nodePort") is > 0 and var p)
            {
                await _store.DeleteAsync(PortPrefix + p, 0, ct).ConfigureAwait(false);
            }
        }
    }
}
