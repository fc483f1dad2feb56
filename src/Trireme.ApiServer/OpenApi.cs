using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

/// <summary>
/// OpenAPI v3 documents, as much as kubectl needs: the root lists each group-version with a
/// serverRelativeURL carrying a content hash (kubectl caches by it), and each group-version
/// document has every resource path with a patch operation naming its GVK and accepting the
/// fieldValidation parameter — which is how kubectl decides server-side field validation is
/// available for apply. Schemas are not published; kubectl uses its compiled-in types for
/// strategic merge of the built-in kinds.
/// </summary>
public sealed class OpenApi
{
    private readonly Dictionary<string, JsonObject> _documents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _hashes = new(StringComparer.Ordinal);

    public OpenApi(ResourceRegistry registry)
    {
        foreach (var group in registry.All.Select(r => r.Group).Distinct())
        {
            var key = group.Length == 0 ? "api/v1" : $"apis/{group}/v1";
            var doc = Document(registry, group);
            _documents[key] = doc;
            _hashes[key] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(doc.ToJsonString()))).ToUpperInvariant();
        }
    }

    public JsonObject Root()
    {
        var paths = new JsonObject();
        foreach (var (key, hash) in _hashes)
        {
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    public JsonObject? GroupVersion(string key) => _documents.GetValueOrDefault(key);

    private static JsonObject Document(ResourceRegistry registry, string group)
    {
        var paths = new JsonObject();
        foreach (var r in registry.All.Where(r => r.Group == group))
        {
            var root = group.Length == 0 ? "/api/v1" : $"/apis/{group}/v1";
            var path = r.Namespaced ? $"{root}/namespaces/{{namespace}}/{r.Plural}/{{name}}" : $"{root}/{r.Plural}/{{name}}";
            var gvk = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind };
            paths[path] = new JsonObject
            {
                ["get"] = Operation("read" + r.Kind, gvk, "get", false),
                ["put"] = Operation("replace" + r.Kind, gvk, "put", true),
                ["patch"] = Operation("patch" + r.Kind, gvk, "patch", true),
                ["delete"] = Operation("delete" + r.Kind, gvk, "delete", false),
            };
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.4" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = new JsonObject() },
        };
    }

    private static JsonObject Operation(string id, JsonObject gvk, string action, bool validation)
    {
        var parameters = new JsonArray(
            new JsonObject { ["name"] = "dryRun", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
            new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } });
        if (validation)
        {
            parameters.Add(new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } });
        }

        return new JsonObject
        {
            ["operationId"] = id,
            ["parameters"] = parameters,
            ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
            ["x-kubernetes-action"] = action,
            ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
        };
    }
}
