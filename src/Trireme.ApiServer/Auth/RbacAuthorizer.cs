using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer.Auth;

/// <summary>What a request asks to do, as the authorizer sees it.</summary>
public sealed record AuthorizationAttributes(
    string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name, string? Path)
{
    public bool IsResource => Path is null;
}

/// <summary>
/// The RBAC authorizer: system:masters is always allowed; otherwise a request is allowed when a
/// ClusterRoleBinding, or a RoleBinding in the request's namespace, grants a rule that covers it.
/// Roles and bindings come from the watch caches, so a grant takes effect as soon as it is stored.
/// The denial message is kube-apiserver's, which kubectl prints.
/// Decisions are remembered per (user, groups, attributes) until the policy changes: policyVersion
/// (the RBAC caches' revisions) moving on drops them all, so a new grant or revocation is seen by
/// the next request exactly as without the memo. Evaluation walks every binding with JSON lookups,
/// which a fleet of kubelets renewing leases would otherwise repeat for every request.
/// </summary>
public sealed class RbacAuthorizer(
    Func<string, IEnumerable<JsonObject>> list, Func<string, string?, string, JsonObject?> get, Func<long>? policyVersion = null)
{
    /// <summary>Bound on remembered decisions (a 5,000-node cluster needs ~2 per node); past it the memo starts over.</summary>
    public const int DecisionMemoLimit = 65_536;

    private readonly record struct DecisionKey(string User, string Groups, AuthorizationAttributes Attributes);

    private readonly ConcurrentDictionary<DecisionKey, bool> _decisions = new();
    private readonly Lock _versionLock = new();
    private long _decisionsVersion = -1;

    public bool Allows(UserInfo user, AuthorizationAttributes a)
    {
        if (user.IsSuperuser)
        {
            return true;
        }

        if (policyVersion is null)
        {
            return Evaluate(user, a);
        }

        var version = policyVersion();
        lock (_versionLock)
        {
            if (version != _decisionsVersion || _decisions.Count >= DecisionMemoLimit)
            {
                _decisions.Clear();
                _decisionsVersion = version;
            }
        }

        var key = new DecisionKey(user.Name, string.Join('\n', user.Groups), a);
        if (_decisions.TryGetValue(key, out var allowed))
        {
            return allowed;
        }

        allowed = Evaluate(user, a);
        lock (_versionLock)
        {
            // Only a decision made under the current policy is remembered.
            if (version == _decisionsVersion)
            {
                _decisions[key] = allowed;
            }
        }

        return allowed;
    }

    private bool Evaluate(UserInfo user, AuthorizationAttributes a)
    {

        foreach (var binding in list("clusterrolebindings"))
        {
            if (Binds(binding, user) && RoleAllows(binding, null, a))
            {
                return true;
            }
        }

        if (a.Namespace is { Length: > 0 } ns)
        {
            foreach (var binding in list("rolebindings").Where(b => ObjectFields.Namespace(b) == ns))
            {
                if (Binds(binding, user) && RoleAllows(binding, ns, a))
                {
                    return true;
                }
            }
        }

        return false;
    }

    public static string DenialMessage(UserInfo user, AuthorizationAttributes a)
    {
        if (!a.IsResource)
        {
            return $"forbidden: User \"{user.Name}\" cannot {a.Verb} path \"{a.Path}\"";
        }

        var resource = a.Subresource is null ? a.Resource : $"{a.Resource}/{a.Subresource}";
        var qualified = a.Group.Length == 0 ? a.Resource : $"{a.Resource}.{a.Group}";
        var subject = a.Name is null ? $"{qualified} is forbidden" : $"{qualified} \"{a.Name}\" is forbidden";
        var scope = a.Namespace is { Length: > 0 } ns ? $"in the namespace \"{ns}\"" : "at the cluster scope";
        return $"{subject}: User \"{user.Name}\" cannot {a.Verb} resource \"{resource}\" in API group \"{a.Group}\" {scope}";
    }

    private static bool Binds(JsonObject binding, UserInfo user)
    {
        foreach (var subject in ObjectFields.Arr(binding, "subjects") ?? [])
        {
            var name = ObjectFields.Str(subject, "name");
            var matched = ObjectFields.Str(subject, "kind") switch
            {
                "User" => name == user.Name,
                "Group" => name is not null && user.Groups.Contains(name),
                "ServiceAccount" => user.Name == $"system:serviceaccount:{ObjectFields.Str(subject, "namespace")}:{name}",
                _ => false,
            };
            if (matched)
            {
                return true;
            }
        }

        return false;
    }

    private bool RoleAllows(JsonObject binding, string? ns, AuthorizationAttributes a)
    {
        var kind = ObjectFields.Str(binding, "roleRef", "kind");
        var name = ObjectFields.Str(binding, "roleRef", "name") ?? "";
        var role = kind == "ClusterRole" ? get("clusterroles", null, name) : get("roles", ns, name);
        return role is not null && (ObjectFields.Arr(role, "rules") ?? []).OfType<JsonObject>().Any(rule => RuleAllows(rule, a));
    }

    public static bool RuleAllows(JsonObject rule, AuthorizationAttributes a)
    {
        if (!Has(rule, "verbs", a.Verb))
        {
            return false;
        }

        if (!a.IsResource)
        {
            return (ObjectFields.Arr(rule, "nonResourceURLs") ?? []).Select(n => n?.ToString() ?? "").Any(u =>
                u == "*" || u == a.Path || (u.EndsWith('*') && a.Path!.StartsWith(u[..^1], StringComparison.Ordinal)));
        }

        if (!Has(rule, "apiGroups", a.Group))
        {
            return false;
        }

        var combined = a.Subresource is null ? a.Resource : $"{a.Resource}/{a.Subresource}";
        var resources = (ObjectFields.Arr(rule, "resources") ?? []).Select(n => n?.ToString()).ToList();
        var resourceOk = resources.Any(r => r == "*" || r == combined || (a.Subresource is not null && r == $"*/{a.Subresource}"));
        if (!resourceOk)
        {
            return false;
        }

        var names = ObjectFields.Arr(rule, "resourceNames");
        return names is null || names.Count == 0 || (a.Name is not null && names.Any(n => n?.ToString() == a.Name));
    }

    private static bool Has(JsonObject rule, string field, string value) =>
        (ObjectFields.Arr(rule, field) ?? []).Any(n => n?.ToString() is { } s && (s == "*" || s == value));
}
