using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

/// <summary>
/// A resource request URL taken apart as kube-apiserver's RequestInfoFactory does:
/// /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]] and the same under /apis/{group}/{version}.
/// "namespaces/{ns}/status|finalize" stay subresources of the namespace itself.
/// </summary>
public sealed record RequestInfo(
    string Group, string Version, string? Namespace, string Resource, string? Name, string? Subresource)
{
    private static readonly HashSet<string> NamespaceSubresources = ["status", "finalize"];

    /// <summary>Returns null for non-resource paths and group/version discovery paths.</summary>
    public static RequestInfo? Parse(string path)
    {
        var parts = path.Trim('/').Split('/');
        int rest;
        string group, version;
        if (parts.Length >= 3 && parts[0] == "api")
        {
            (group, version, rest) = ("", parts[1], 2);
        }
        else if (parts.Length >= 4 && parts[0] == "apis")
        {
            (group, version, rest) = (parts[1], parts[2], 3);
        }
        else
        {
            return null;
        }

        var tail = parts[rest..];
        if (tail.Any(p => p.Length == 0))
        {
            return null;
        }

        string? ns = null;
        if (tail[0] == "namespaces" && tail.Length > 2 && !NamespaceSubresources.Contains(tail[2]))
        {
            ns = tail[1];
            tail = tail[2..];
        }

        if (tail.Length > 3)
        {
            return null;
        }

        return new RequestInfo(group, version, ns, tail[0], tail.Length > 1 ? tail[1] : null, tail.Length > 2 ? tail[2] : null);
    }

    public string Verb(string method, bool watch) => method switch
    {
        "GET" or "HEAD" when watch => "watch",
        "GET" or "HEAD" => Name is null ? "list" : "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => Name is null ? "deletecollection" : "delete",
        _ => method.ToLowerInvariant(),
    };
}

/// <summary>The authenticated caller.</summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups, string Uid = "")
{
    public bool IsSuperuser => Groups.Contains("system:masters");
}
