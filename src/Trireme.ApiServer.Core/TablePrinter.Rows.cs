using System.Globalization;
using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

// The printers with real logic: node status/roles, pod readiness/status, service ports, events.
public static partial class TablePrinter
{
    private static JsonArray NodeCells(JsonObject o, string name, string age)
    {
        var status = "Unknown";
        foreach (var c in ObjectFields.Arr(o, "status", "conditions") ?? [])
        {
            if (ObjectFields.Str(c, "type") == "Ready")
            {
                status = ObjectFields.Str(c, "status") switch { "True" => "Ready", "False" => "NotReady", _ => "Unknown" };
            }
        }

        if (ObjectFields.Bool(o, "spec", "unschedulable"))
        {
            status += ",SchedulingDisabled";
        }

        var roles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in ObjectFields.Labels(o))
        {
            if (key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal) && key.Length > "node-role.kubernetes.io/".Length)
            {
                roles.Add(key["node-role.kubernetes.io/".Length..]);
            }
            else if (key == "kubernetes.io/role" && value.Length > 0)
            {
                roles.Add(value);
            }
        }

        string Address(string type) => None((ObjectFields.Arr(o, "status", "addresses") ?? [])
            .Where(a => ObjectFields.Str(a, "type") == type).Select(a => ObjectFields.Str(a, "address")).FirstOrDefault());

        var info = ObjectFields.Obj(o, "status", "nodeInfo");
        return Row(name, status, roles.Count == 0 ? "<none>" : string.Join(",", roles), age,
            ObjectFields.Str(info, "kubeletVersion") ?? "", Address("InternalIP"), Address("ExternalIP"),
            None(ObjectFields.Str(info, "osImage")), None(ObjectFields.Str(info, "kernelVersion")),
            None(ObjectFields.Str(info, "containerRuntimeVersion")));
    }

    private static JsonArray PodCells(JsonObject o, string name, string age)
    {
        var containers = ObjectFields.Arr(o, "spec", "containers")?.Count ?? 0;
        long restarts = 0;
        var ready = 0;
        var reason = ObjectFields.Str(o, "status", "reason") ?? ObjectFields.Str(o, "status", "phase") ?? "Pending";
        foreach (var cs in ObjectFields.Arr(o, "status", "containerStatuses") ?? [])
        {
            restarts += ObjectFields.Int(cs, "restartCount") ?? 0;
            if (ObjectFields.Bool(cs, "ready") && ObjectFields.Obj(cs, "state", "running") is not null)
            {
                ready++;
            }

            if (ObjectFields.Str(cs, "state", "waiting", "reason") is { Length: > 0 } waiting)
            {
                reason = waiting;
            }
            else if (ObjectFields.Str(cs, "state", "terminated", "reason") is { Length: > 0 } terminated)
            {
                reason = terminated;
            }
        }

        if (ObjectFields.Str(o, "metadata", "deletionTimestamp") is not null)
        {
            reason = ObjectFields.Str(o, "status", "reason") == "NodeLost" ? "Unknown" : "Terminating";
        }

        var gates = ObjectFields.Arr(o, "spec", "readinessGates")?.Count ?? 0;
        return Row(name, $"{ready}/{containers}", reason, restarts, age,
            None(ObjectFields.Str(o, "status", "podIP")), None(ObjectFields.Str(o, "spec", "nodeName")),
            None(ObjectFields.Str(o, "status", "nominatedNodeName")), gates == 0 ? "<none>" : $"0/{gates}");
    }

    private static JsonArray ServiceCells(JsonObject o, string name, string age)
    {
        var type = ObjectFields.Str(o, "spec", "type") ?? "ClusterIP";
        var clusterIp = ObjectFields.Str(o, "spec", "clusterIP");
        var external = type switch
        {
            "ExternalName" => ObjectFields.Str(o, "spec", "externalName") ?? "<none>",
            "LoadBalancer" => (ObjectFields.Arr(o, "status", "loadBalancer", "ingress") ?? []).Select(i => ObjectFields.Str(i, "ip"))
                .FirstOrDefault() ?? "<pending>",
            _ => None(string.Join(",", (ObjectFields.Arr(o, "spec", "externalIPs") ?? []).Select(i => i?.ToString()))),
        };
        var ports = new List<string>();
        foreach (var p in ObjectFields.Arr(o, "spec", "ports") ?? [])
        {
            var protocol = ObjectFields.Str(p, "protocol") ?? "TCP";
            var port = ObjectFields.Int(p, "port");
            var nodePort = ObjectFields.Int(p, "nodePort");
            ports.Add(nodePort is > 0 ? $"{port}:{nodePort}/{protocol}" : $"{port}/{protocol}");
        }

        return Row(name, type, None(clusterIp), external, None(string.Join(",", ports)), age,
            MapText(ObjectFields.Obj(o, "spec", "selector")));
    }

    private static JsonArray ComponentStatusCells(JsonObject o, string name)
    {
        var condition = ObjectFields.Arr(o, "conditions")?.FirstOrDefault();
        var healthy = ObjectFields.Str(condition, "status") == "True";
        return Row(name, healthy ? "Healthy" : "Unhealthy", ObjectFields.Str(condition, "message") ?? "",
            ObjectFields.Str(condition, "error") ?? "");
    }

    private static JsonArray EventCells(JsonObject o, DateTimeOffset now)
    {
        var last = ObjectFields.Str(o, "lastTimestamp") ?? ObjectFields.Str(o, "eventTime") ?? ObjectFields.Str(o, "metadata", "creationTimestamp");
        var seen = last is not null && DateTimeOffset.TryParse(last, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? HumanDuration.Format(now - t)
            : "<unknown>";
        var kind = ObjectFields.Str(o, "involvedObject", "kind") ?? "";
        var objectName = $"{kind.ToLowerInvariant()}/{ObjectFields.Str(o, "involvedObject", "name")}";
        return Row(seen, ObjectFields.Str(o, "type") ?? "", ObjectFields.Str(o, "reason") ?? "", objectName,
            ObjectFields.Str(o, "message") ?? "");
    }
}
