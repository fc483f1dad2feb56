using System.Globalization;
using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

public sealed record TableColumn(string Name, string Type, string Format, int Priority);

/// <summary>
/// meta.k8s.io/v1 Table rendering with kube-apiserver's columns per resource (the printers in
/// k8s.io/kubernetes/pkg/printers/internalversion), so `kubectl get` prints what a real cluster
/// prints. Priority-1 columns appear only with -o wide. Time is handed in.
/// </summary>
public static partial class TablePrinter
{
    private static TableColumn S(string name, int priority = 0) => new(name, "string", "", priority);

    private static readonly TableColumn NameColumn = new("Name", "string", "name", 0);
    private static readonly TableColumn AgeColumn = S("Age");

    public static IReadOnlyList<TableColumn> Columns(ResourceInfo r) => r.Plural switch
    {
        "nodes" => [NameColumn, S("Status"), S("Roles"), AgeColumn, S("Version"), S("Internal-IP", 1), S("External-IP", 1),
            S("OS-Image", 1), S("Kernel-Version", 1), S("Container-Runtime", 1)],
        "pods" => [NameColumn, S("Ready"), S("Status"), new("Restarts", "string", "", 0), AgeColumn, S("IP", 1), S("Node", 1),
            S("Nominated Node", 1), S("Readiness Gates", 1)],
        "services" => [NameColumn, S("Type"), S("Cluster-IP"), S("External-IP"), S("Port(s)"), AgeColumn, S("Selector", 1)],
        "componentstatuses" => [NameColumn, S("Status"), S("Message"), S("Error")],
        "namespaces" => [NameColumn, S("Status"), AgeColumn],
        "deployments" => [NameColumn, S("Ready"), new("Up-to-date", "integer", "", 0), new("Available", "integer", "", 0), AgeColumn,
            S("Containers", 1), S("Images", 1), S("Selector", 1)],
        "replicasets" => [NameColumn, new("Desired", "integer", "", 0), new("Current", "integer", "", 0), new("Ready", "integer", "", 0),
            AgeColumn, S("Containers", 1), S("Images", 1), S("Selector", 1)],
        "daemonsets" => [NameColumn, new("Desired", "integer", "", 0), new("Current", "integer", "", 0), new("Ready", "integer", "", 0),
            new("Up-to-date", "integer", "", 0), new("Available", "integer", "", 0), S("Node Selector"), AgeColumn,
            S("Containers", 1), S("Images", 1), S("Selector", 1)],
        "events" => [S("Last Seen"), S("Type"), S("Reason"), S("Object"), S("Message")],
        "configmaps" => [NameColumn, new("Data", "integer", "", 0), AgeColumn],
        "secrets" => [NameColumn, S("Type"), new("Data", "integer", "", 0), AgeColumn],
        "serviceaccounts" => [NameColumn, new("Secrets", "integer", "", 0), AgeColumn],
        "endpoints" => [NameColumn, S("Endpoints"), AgeColumn],
        "leases" => [NameColumn, S("Holder"), AgeColumn],
        "certificatesigningrequests" => [NameColumn, AgeColumn, S("SignerName"), S("Requestor"), S("RequestedDuration"), S("Condition")],
        "roles" or "clusterroles" => [NameColumn, S("Created At")],
        "rolebindings" or "clusterrolebindings" => [NameColumn, S("Role"), AgeColumn, S("Users", 1), S("Groups", 1), S("ServiceAccounts", 1)],
        _ => [NameColumn, AgeColumn],
    };

    public static JsonObject Table(ResourceInfo r, IEnumerable<JsonObject> objects, string resourceVersion, string? continueToken,
        DateTimeOffset now, bool includeObject = true)
    {
        var columns = new JsonArray();
        foreach (var c in Columns(r))
        {
            columns.Add(new JsonObject
            {
                ["name"] = c.Name, ["type"] = c.Type, ["format"] = c.Format, ["description"] = c.Name, ["priority"] = c.Priority,
            });
        }

        var rows = new JsonArray();
        foreach (var obj in objects)
        {
            var row = new JsonObject { ["cells"] = Cells(r, obj, now) };
            if (includeObject)
            {
                row["object"] = PartialObjectMetadata(obj);
            }

            rows.Add(row);
        }

        var metadata = new JsonObject { ["resourceVersion"] = resourceVersion };
        if (continueToken is not null)
        {
            metadata["continue"] = continueToken;
        }

        return new JsonObject
        {
            ["kind"] = "Table", ["apiVersion"] = "meta.k8s.io/v1", ["metadata"] = metadata,
            ["columnDefinitions"] = columns, ["rows"] = rows,
        };
    }

    public static JsonObject PartialObjectMetadata(JsonObject obj) => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = "meta.k8s.io/v1",
        ["metadata"] = obj["metadata"]?.DeepClone(),
    };

    public static string Age(JsonObject obj, DateTimeOffset now)
    {
        var created = ObjectFields.Str(obj, "metadata", "creationTimestamp");
        return created is not null && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? HumanDuration.Format(now - t)
            : "<unknown>";
    }

    private static JsonArray Cells(ResourceInfo r, JsonObject o, DateTimeOffset now)
    {
        var name = ObjectFields.Name(o);
        var age = Age(o, now);
        return r.Plural switch
        {
            "nodes" => NodeCells(o, name, age),
            "pods" => PodCells(o, name, age),
            "services" => ServiceCells(o, name, age),
            "componentstatuses" => ComponentStatusCells(o, name),
            "namespaces" => Row(name, ObjectFields.Str(o, "status", "phase") ?? "Active", age),
            "deployments" => Row(name,
                $"{ObjectFields.Int(o, "status", "readyReplicas") ?? 0}/{ObjectFields.Int(o, "spec", "replicas") ?? 0}",
                ObjectFields.Int(o, "status", "updatedReplicas") ?? 0, ObjectFields.Int(o, "status", "availableReplicas") ?? 0, age,
                Containers(o), Images(o), Selector(o)),
            "replicasets" => Row(name, ObjectFields.Int(o, "spec", "replicas") ?? 0, ObjectFields.Int(o, "status", "replicas") ?? 0,
                ObjectFields.Int(o, "status", "readyReplicas") ?? 0, age, Containers(o), Images(o), Selector(o)),
            "daemonsets" => Row(name, ObjectFields.Int(o, "status", "desiredNumberScheduled") ?? 0,
                ObjectFields.Int(o, "status", "currentNumberScheduled") ?? 0, ObjectFields.Int(o, "status", "numberReady") ?? 0,
                ObjectFields.Int(o, "status", "updatedNumberScheduled") ?? 0, ObjectFields.Int(o, "status", "numberAvailable") ?? 0,
                MapText(ObjectFields.Obj(o, "spec", "template", "spec", "nodeSelector")), age, Containers(o), Images(o), Selector(o)),
            "events" => EventCells(o, now),
            "configmaps" => Row(name, (ObjectFields.Obj(o, "data")?.Count ?? 0) + (ObjectFields.Obj(o, "binaryData")?.Count ?? 0), age),
            "secrets" => Row(name, ObjectFields.Str(o, "type") ?? "Opaque", ObjectFields.Obj(o, "data")?.Count ?? 0, age),
            "serviceaccounts" => Row(name, ObjectFields.Arr(o, "secrets")?.Count ?? 0, age),
            "endpoints" => Row(name, EndpointsText(o), age),
            "leases" => Row(name, ObjectFields.Str(o, "spec", "holderIdentity") ?? "", age),
            "certificatesigningrequests" => Row(name, age, ObjectFields.Str(o, "spec", "signerName") ?? "",
                ObjectFields.Str(o, "spec", "username") ?? "", "<none>", CsrCondition(o)),
            "roles" or "clusterroles" => Row(name, ObjectFields.Str(o, "metadata", "creationTimestamp") ?? ""),
            "rolebindings" or "clusterrolebindings" => Row(name,
                $"{ObjectFields.Str(o, "roleRef", "kind")}/{ObjectFields.Str(o, "roleRef", "name")}", age,
                Subjects(o, "User"), Subjects(o, "Group"), Subjects(o, "ServiceAccount")),
            _ => Row(name, age),
        };
    }

    private static JsonArray Row(params object[] cells)
    {
        var row = new JsonArray();
        foreach (var c in cells)
        {
            row.Add(c switch
            {
                long l => JsonValue.Create(l),
                int i => JsonValue.Create(i),
                _ => JsonValue.Create(c.ToString()),
            });
        }

        return row;
    }

    private static string None(string? s) => string.IsNullOrEmpty(s) ? "<none>" : s;

    private static string MapText(JsonObject? map)
    {
        var pairs = ObjectFields.StringMap(map).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}");
        return None(string.Join(",", pairs));
    }

    private static JsonObject? PodSpecOf(JsonObject o) => ObjectFields.Obj(o, "spec", "template", "spec");

    private static string Containers(JsonObject o) =>
        None(string.Join(",", (ObjectFields.Arr(PodSpecOf(o), "containers") ?? []).Select(c => ObjectFields.Str(c, "name"))));

    private static string Images(JsonObject o) =>
        None(string.Join(",", (ObjectFields.Arr(PodSpecOf(o), "containers") ?? []).Select(c => ObjectFields.Str(c, "image"))));

    private static string Selector(JsonObject o)
    {
        var selector = ObjectFields.Obj(o, "spec", "selector");
        var parts = ObjectFields.StringMap(ObjectFields.Obj(selector, "matchLabels"))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}").ToList();
        return None(string.Join(",", parts));
    }

    private static string Subjects(JsonObject o, string kind) =>
        string.Join(", ", (ObjectFields.Arr(o, "subjects") ?? []).Where(s => ObjectFields.Str(s, "kind") == kind)
            .Select(s => kind == "ServiceAccount" ? $"{ObjectFields.Str(s, "namespace")}/{ObjectFields.Str(s, "name")}" : ObjectFields.Str(s, "name")));

    private static string CsrCondition(JsonObject o)
    {
        var conditions = (ObjectFields.Arr(o, "status", "conditions") ?? []).Select(c => ObjectFields.Str(c, "type")).ToList();
        if (conditions.Count == 0)
        {
            return "Pending";
        }

        var text = string.Join(",", conditions);
        return ObjectFields.Str(o, "status", "certificate") is { Length: > 0 } ? text + ",Issued" : text;
    }

    private static string EndpointsText(JsonObject o)
    {
        var list = new List<string>();
        foreach (var subset in ObjectFields.Arr(o, "subsets") ?? [])
        {
            var ports = (ObjectFields.Arr(subset, "ports") ?? []).Select(p => ObjectFields.Int(p, "port")).ToList();
            foreach (var a in ObjectFields.Arr(subset, "addresses") ?? [])
            {
                var ip = ObjectFields.Str(a, "ip");
                if (ports.Count == 0)
                {
                    list.Add(ip ?? "");
                }

                list.AddRange(ports.Select(p => $"{ip}:{p}"));
            }
        }

        if (list.Count > 3)
        {
            return string.Join(",", list.Take(3)) + $" + {list.Count - 3} more...";
        }

        return None(string.Join(",", list));
    }
}
