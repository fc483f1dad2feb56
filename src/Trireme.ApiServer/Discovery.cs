using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

/// <summary>
/// API discovery documents: aggregated discovery (apidiscovery.k8s.io v2 and v2beta1, one round
/// trip for kubectl) and the legacy APIVersions/APIGroupList/APIGroup/APIResourceList documents.
/// </summary>
public static class Discovery
{
    public const string AggregatedV2ContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    public const string AggregatedV2Beta1ContentType = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

    /// <summary>Which aggregated version the Accept header asks for, if any (v2 preferred).</summary>
    public static string? AggregatedVersion(string accept)
    {
        if (!accept.Contains("as=APIGroupDiscoveryList", StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var part in accept.Split(','))
        {
            if (part.Contains("as=APIGroupDiscoveryList", StringComparison.Ordinal) && part.Contains("v=v2", StringComparison.Ordinal))
            {
                return part.Contains("v=v2beta1", StringComparison.Ordinal) ? "v2beta1" : "v2";
            }
        }

        return null;
    }

    public static JsonObject Aggregated(ResourceRegistry registry, bool core, string version)
    {
        var items = new JsonArray();
        var groups = core ? [""] : registry.Groups.ToArray();
        foreach (var group in groups)
        {
            var resources = new JsonArray();
            foreach (var r in registry.All.Where(r => r.Group == group))
            {
                var entry = new JsonObject
                {
                    ["resource"] = r.Plural,
                    ["responseKind"] = Gvk(r.Group, r.Version, r.Kind),
                    ["scope"] = r.Namespaced ? "Namespaced" : "Cluster",
                    ["singularResource"] = r.Singular,
                    ["verbs"] = Strings(r.Verbs),
                };
                if (r.ShortNames.Length > 0)
                {
                    entry["shortNames"] = Strings(r.ShortNames);
                }

                if (r.Categories.Length > 0)
                {
                    entry["categories"] = Strings(r.Categories);
                }

                if (r.Subresources.Length > 0)
                {
                    entry["subresources"] = new JsonArray(r.Subresources.Select(s => (JsonNode)new JsonObject
                    {
                        ["subresource"] = s.Name,
                        ["responseKind"] = Gvk(s.Group, s.Version, s.Kind),
                        ["verbs"] = Strings(s.Verbs),
                    }).ToArray());
                }

                resources.Add(entry);
            }

            items.Add(new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = group, ["creationTimestamp"] = null },
                ["versions"] = new JsonArray(new JsonObject { ["version"] = "v1", ["resources"] = resources, ["freshness"] = "Current" }),
            });
        }

        return new JsonObject
        {
            ["kind"] = "APIGroupDiscoveryList",
            ["apiVersion"] = $"apidiscovery.k8s.io/{version}",
            ["metadata"] = new JsonObject(),
            ["items"] = items,
        };
    }

    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = Strings(["v1"]),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject GroupList(ResourceRegistry registry) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(registry.Groups.Select(g => (JsonNode)Group(g)).ToArray()),
    };

    public static JsonObject Group(string group)
    {
        var gv = new JsonObject { ["groupVersion"] = $"{group}/v1", ["version"] = "v1" };
        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = group,
            ["versions"] = new JsonArray(gv),
            ["preferredVersion"] = gv.DeepClone(),
        };
    }

    public static JsonObject ResourceList(ResourceRegistry registry, string group)
    {
        var resources = new JsonArray();
        foreach (var r in registry.All.Where(r => r.Group == group))
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural, ["singularName"] = r.Singular, ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                ["verbs"] = Strings(r.Verbs),
            };
            if (r.ShortNames.Length > 0)
            {
                entry["shortNames"] = Strings(r.ShortNames);
            }

            if (r.Categories.Length > 0)
            {
                entry["categories"] = Strings(r.Categories);
            }

            resources.Add(entry);
            foreach (var s in r.Subresources)
            {
                var sub = new JsonObject
                {
                    ["name"] = $"{r.Plural}/{s.Name}", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["kind"] = s.Kind,
                    ["verbs"] = Strings(s.Verbs),
                };
                if (s.Group != r.Group)
                {
                    sub["group"] = s.Group;
                    sub["version"] = s.Version;
                }

                resources.Add(sub);
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? "v1" : $"{group}/v1",
            ["resources"] = resources,
        };
    }

    private static JsonObject Gvk(string group, string version, string kind) =>
        new() { ["group"] = group, ["version"] = version, ["kind"] = kind };

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
}
