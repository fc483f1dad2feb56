using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>Typed reads of the common fields of an object held as JSON.</summary>
public static class ObjectFields
{
    public static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m)
        {
            return m;
        }

        var created = new JsonObject();
        obj["metadata"] = created;
        return created;
    }

    public static string? Str(JsonNode? node, params string[] path)
    {
        foreach (var p in path)
        {
            node = node is JsonObject o ? o[p] : null;
        }

        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    public static long? Int(JsonNode? node, params string[] path)
    {
        foreach (var p in path)
        {
            node = node is JsonObject o ? o[p] : null;
        }

        if (node is JsonValue v)
        {
            if (v.TryGetValue<long>(out var l))
            {
                return l;
            }

            if (v.TryGetValue<int>(out var i))
            {
                return i;
            }

            if (v.TryGetValue<double>(out var d))
            {
                return (long)d;
            }
        }

        return null;
    }

    public static bool Bool(JsonNode? node, params string[] path)
    {
        foreach (var p in path)
        {
            node = node is JsonObject o ? o[p] : null;
        }

        return node is JsonValue v && v.TryGetValue<bool>(out var b) && b;
    }

    public static JsonObject? Obj(JsonNode? node, params string[] path)
    {
        foreach (var p in path)
        {
            node = node is JsonObject o ? o[p] : null;
        }

        return node as JsonObject;
    }

    public static JsonArray? Arr(JsonNode? node, params string[] path)
    {
        foreach (var p in path)
        {
            node = node is JsonObject o ? o[p] : null;
        }

        return node as JsonArray;
    }

    public static string Name(JsonObject obj) => Str(obj, "metadata", "name") ?? "";

    public static string Namespace(JsonObject obj) => Str(obj, "metadata", "namespace") ?? "";

    public static IReadOnlyDictionary<string, string> Labels(JsonObject obj) => StringMap(Obj(obj, "metadata", "labels"));

    public static Dictionary<string, string> StringMap(JsonObject? map)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (map is null)
        {
            return result;
        }

        foreach (var (k, v) in map)
        {
            result[k] = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString() ?? "";
        }

        return result;
    }

    private static readonly string[] CommonFields = ["metadata.name", "metadata.namespace"];

    private static readonly Dictionary<string, string[]> ExtraFields = new(StringComparer.Ordinal)
    {
        ["pods"] = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
        ["events"] = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
            "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
            "reportingComponent", "source", "type"],
        ["nodes"] = ["spec.unschedulable"],
        ["secrets"] = ["type"],
        ["namespaces"] = ["status.phase"],
        ["replicasets"] = ["status.replicas"],
        ["certificatesigningrequests"] = ["spec.signerName"],
    };

    public static bool Supports(ResourceInfo resource, string field) =>
        CommonFields.Contains(field) || (ExtraFields.TryGetValue(resource.Plural, out var extra) && extra.Contains(field));

    /// <summary>The string form of a selectable field, as the field-label conversion renders it.</summary>
    public static string? Field(ResourceInfo resource, JsonObject obj, string field)
    {
        if (field == "source" && resource.Plural == "events")
        {
            return Str(obj, "source", "component");
        }

        JsonNode? node = obj;
        foreach (var p in field.Split('.'))
        {
            node = node is JsonObject o ? o[p] : null;
        }

        return node switch
        {
            null => field == "spec.unschedulable" || field == "spec.hostNetwork" ? "false" : null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
            _ => node.ToJsonString(),
        };
    }
}
