using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>
/// The three patch types kubectl sends: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and
/// strategic merge patch (lists merged by the merge keys of the built-in types, with the $patch,
/// $setElementOrder, $retainKeys and $deleteFromPrimitiveList directives). Inputs are not mutated;
/// a malformed patch throws <see cref="ApiException"/> (400 or 422 as kube-apiserver answers).
/// </summary>
public static class Patches
{
    public static JsonObject MergePatch(JsonObject target, JsonNode? patch) =>
        MergeNode(target.DeepClone(), patch) as JsonObject
        ?? throw ApiException.BadRequest("merge patch must be a JSON object");

    private static JsonNode? MergeNode(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in p)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergeNode(result[key]?.DeepClone(), value);
            }
        }

        return result;
    }

    public static JsonObject JsonPatch(JsonObject target, JsonNode? patch)
    {
        if (patch is not JsonArray ops)
        {
            throw ApiException.BadRequest("json patch must be a JSON array of operations");
        }

        JsonNode doc = target.DeepClone();
        foreach (var opNode in ops)
        {
            if (opNode is not JsonObject op)
            {
                throw ApiException.BadRequest("json patch operation must be an object");
            }

            var name = ObjectFields.Str(op, "op") ?? throw ApiException.BadRequest("json patch operation has no 'op'");
            var path = ObjectFields.Str(op, "path") ?? throw ApiException.BadRequest("json patch operation has no 'path'");
            switch (name)
            {
                case "add":
                    doc = Add(doc, path, Required(op, "value"));
                    break;
                case "remove":
                    doc = Remove(doc, path, out _);
                    break;
                case "replace":
                    doc = Remove(doc, path, out _);
                    doc = Add(doc, path, Required(op, "value"));
                    break;
                case "move":
                {
                    var from = ObjectFields.Str(op, "from") ?? throw ApiException.BadRequest("move needs 'from'");
                    doc = Remove(doc, from, out var moved);
                    doc = Add(doc, path, moved);
                    break;
                }

                case "copy":
                {
                    var from = ObjectFields.Str(op, "from") ?? throw ApiException.BadRequest("copy needs 'from'");
                    doc = Add(doc, path, Get(doc, from)?.DeepClone());
                    break;
                }

                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), op["value"]))
                    {
                        throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: testing value {path} failed");
                    }

                    break;
                default:
                    throw ApiException.BadRequest($"unexpected json patch operation \"{name}\"");
            }
        }

        return doc as JsonObject ?? throw ApiException.BadRequest("json patch must leave an object");
    }

    private static JsonNode? Required(JsonObject op, string field) =>
        op.TryGetPropertyValue(field, out var v) ? v?.DeepClone() : throw ApiException.BadRequest($"json patch operation has no '{field}'");

    private static string[] Pointer(string path)
    {
        if (path.Length == 0)
        {
            return [];
        }

        if (path[0] != '/')
        {
            throw ApiException.BadRequest($"json patch path \"{path}\" must start with '/'");
        }

        return path[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
    }

    private static JsonNode? Get(JsonNode doc, string path)
    {
        JsonNode? node = doc;
        foreach (var token in Pointer(path))
        {
            node = node switch
            {
                JsonObject o => o.TryGetPropertyValue(token, out var v) ? v : throw Missing(path),
                JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw Missing(path),
            };
        }

        return node;
    }

    private static ApiException Missing(string path) =>
        new(422, "Invalid", $"the server rejected our request due to an error in our request: doc is missing path: \"{path}\"");

    private static (JsonNode Parent, string Last) Parent(JsonNode doc, string path)
    {
        var tokens = Pointer(path);
        if (tokens.Length == 0)
        {
            throw ApiException.BadRequest("json patch may not replace the whole document");
        }

        var parentPath = string.Concat(tokens[..^1].Select(t => "/" + t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)));
        return (Get(doc, parentPath) ?? throw Missing(path), tokens[^1]);
    }

    private static JsonNode Add(JsonNode doc, string path, JsonNode? value)
    {
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o:
                o.Remove(last);
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw Missing(path);
        }

        return doc;
    }

    private static JsonNode Remove(JsonNode doc, string path, out JsonNode? removed)
    {
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o when o.TryGetPropertyValue(last, out var v):
                removed = v;
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default:
                throw Missing(path);
        }

        return doc;
    }
}
