using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>
/// Strategic merge patch over JSON. Lists whose Go field carries <c>patchStrategy:"merge"</c> merge
/// element-wise by their <c>patchMergeKey</c>; other lists are replaced, maps merge recursively and
/// null deletes. The merge keys are those of the k8s.io/api types this server serves, keyed by
/// field name (with the one ambiguity — Service ports by "port", container ports by
/// "containerPort" — resolved from the path).
/// </summary>
public static class StrategicMergePatch
{
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["env"] = "name",
        ["imagePullSecrets"] = "name",
        ["conditions"] = "type",
        ["addresses"] = "type",
        ["taints"] = "key",
        ["hostAliases"] = "ip",
        ["ownerReferences"] = "uid",
        ["readinessGates"] = "conditionType",
        ["topologySpreadConstraints"] = "topologyKey",
        ["resourceClaims"] = "name",
        ["schedulingGates"] = "name",
    };

    /// <summary>Primitive lists merged as sets (patchStrategy merge on a []string).</summary>
    private static readonly HashSet<string> MergedPrimitiveLists = ["finalizers"];

    public static JsonObject Apply(JsonObject target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            throw ApiException.BadRequest("strategic merge patch must be a JSON object");
        }

        return MergeObject(target.DeepClone().AsObject(), p, "");
    }

    private static JsonObject MergeObject(JsonObject target, JsonObject patch, string path)
    {
        if (ObjectFields.Str(patch, "$patch") is { } directive)
        {
            if (directive == "replace")
            {
                var replaced = patch.DeepClone().AsObject();
                replaced.Remove("$patch");
                return replaced;
            }

            if (directive == "delete")
            {
                return new JsonObject();
            }
        }

        if (patch["$retainKeys"] is JsonArray retain)
        {
            var keep = retain.Select(n => n?.GetValue<string>()).ToHashSet();
            foreach (var key in target.Select(kv => kv.Key).ToList())
            {
                if (!keep.Contains(key))
                {
                    target.Remove(key);
                }
            }
        }

        foreach (var (key, value) in patch)
        {
            if (key is "$patch" or "$retainKeys" || key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                continue;
            }

            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (target[field] is JsonArray list && value is JsonArray remove)
                {
                    foreach (var r in remove)
                    {
                        foreach (var item in list.Where(i => JsonNode.DeepEquals(i, r)).ToList())
                        {
                            list.Remove(item);
                        }
                    }
                }

                continue;
            }

            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            if (value is null)
            {
                target.Remove(key);
                continue;
            }

            var existing = target[key];
            JsonNode? merged = (existing, value) switch
            {
                (JsonObject e, JsonObject v) => MergeObject(e.DeepClone().AsObject(), v, childPath),
                (JsonArray e, JsonArray v) => MergeList(e, v, key, childPath),
                (null, JsonObject v) => MergeObject(new JsonObject(), v, childPath),
                (null, JsonArray v) => MergeList(new JsonArray(), v, key, childPath),
                _ => value.DeepClone(),
            };
            target[key] = merged; // in place: key order survives, as kubectl diffs rely on stable output
        }

        return target;
    }

    private static string? MergeKeyFor(string field, string path)
    {
        if (field == "ports")
        {
            // Service spec.ports merge by port; container ports by containerPort.
            return path == "spec.ports" ? "port" : "containerPort";
        }

        return MergeKeys.GetValueOrDefault(field);
    }

    private static JsonArray MergeList(JsonArray target, JsonArray patch, string field, string path)
    {
        if (patch.Any(e => e is JsonObject o && ObjectFields.Str(o, "$patch") == "replace"))
        {
            return new JsonArray(patch.Where(e => !(e is JsonObject o && ObjectFields.Str(o, "$patch") == "replace"))
                .Select(e => e?.DeepClone()).ToArray());
        }

        if (MergedPrimitiveLists.Contains(field))
        {
            var set = new JsonArray(target.Select(e => e?.DeepClone()).ToArray());
            foreach (var e in patch)
            {
                if (!set.Any(s => JsonNode.DeepEquals(s, e)))
                {
                    set.Add(e?.DeepClone());
                }
            }

            return set;
        }

        var mergeKey = MergeKeyFor(field, path);
        if (mergeKey is null)
        {
            return new JsonArray(patch.Select(e => e?.DeepClone()).ToArray());
        }

        var result = new JsonArray(target.Select(e => e?.DeepClone()).ToArray());
        foreach (var element in patch)
        {
            if (element is not JsonObject pe)
            {
                throw ApiException.BadRequest($"strategic merge patch: list {path} expects objects with merge key {mergeKey}");
            }

            var keyValue = pe[mergeKey];
            var index = -1;
            for (var i = 0; i < result.Count; i++)
            {
                if (result[i] is JsonObject te && JsonNode.DeepEquals(te[mergeKey], keyValue))
                {
                    index = i;
                    break;
                }
            }

            if (ObjectFields.Str(pe, "$patch") == "delete")
            {
                if (index >= 0)
                {
                    result.RemoveAt(index);
                }

                continue;
            }

            if (index >= 0)
            {
                var merged = MergeObject(result[index]!.DeepClone().AsObject(), pe, path);
                result.RemoveAt(index);
                result.Insert(index, merged);
            }
            else
            {
                result.Add(MergeObject(new JsonObject(), pe, path));
            }
        }

        return result;
    }
}
