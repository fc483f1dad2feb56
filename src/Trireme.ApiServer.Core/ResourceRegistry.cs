namespace Trireme.ApiServer.Core;

/// <summary>
/// Every resource this server serves, with kube-apiserver's names, short names, verbs and etcd
/// prefixes (e.g. nodes live under /registry/minions/, services under /registry/services/specs/),
/// so that an external etcd holds the layout a real control plane would write.
/// </summary>
public sealed class ResourceRegistry
{
    private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    private static readonly string[] StatusVerbs = ["get", "patch", "update"];

    private readonly Dictionary<(string Group, string Version, string Plural), ResourceInfo> _byPath = new();

    public IReadOnlyList<ResourceInfo> All { get; }

    public ResourceRegistry()
    {
        All = Build();
        foreach (var r in All)
        {
            _byPath[(r.Group, r.Version, r.Plural)] = r;
        }
    }

    public static ResourceRegistry Default { get; } = new();

    public ResourceInfo? Find(string group, string version, string plural) =>
        _byPath.GetValueOrDefault((group, version, plural));

    public ResourceInfo? FindByKind(string group, string kind) =>
        All.FirstOrDefault(r => r.Group == group && r.Kind == kind);

    /// <summary>Group names with their versions, in discovery order.</summary>
    public IEnumerable<string> Groups => All.Select(r => r.Group).Where(g => g.Length > 0).Distinct();

    private static List<ResourceInfo> Build()
    {
        var status = (string kind, string group) => new SubresourceInfo("status", group, "v1", kind, StatusVerbs);
        var scale = new SubresourceInfo("scale", "autoscaling", "v1", "Scale", StatusVerbs);
        return
        [
            R("", "Pod", "pods", "pod", true, "pods/", ["po"], ["all"], AllVerbs,
                status("Pod", ""),
                new SubresourceInfo("binding", "", "v1", "Binding", ["create"]),
                new SubresourceInfo("eviction", "policy", "v1", "Eviction", ["create"]),
                new SubresourceInfo("log", "", "v1", "Pod", ["get"])),
            R("", "Service", "services", "service", true, "services/specs/", ["svc"], ["all"],
                ["create", "delete", "get", "list", "patch", "update", "watch"], status("Service", "")),
            R("", "Node", "nodes", "node", false, "minions/", ["no"], [], AllVerbs, status("Node", "")),
            R("", "Namespace", "namespaces", "namespace", false, "namespaces/", ["ns"], [],
                ["create", "delete", "get", "list", "patch", "update", "watch"], status("Namespace", "")),
            R("", "ComponentStatus", "componentstatuses", "componentstatus", false, "", ["cs"], [], ["get", "list"]),
            R("", "Event", "events", "event", true, "events/", ["ev"], [], AllVerbs),
            R("", "Endpoints", "endpoints", "endpoints", true, "services/endpoints/", ["ep"], [], AllVerbs),
            R("", "ConfigMap", "configmaps", "configmap", true, "configmaps/", ["cm"], [], AllVerbs),
            R("", "Secret", "secrets", "secret", true, "secrets/", [], [], AllVerbs),
            R("", "ServiceAccount", "serviceaccounts", "serviceaccount", true, "serviceaccounts/", ["sa"], [], AllVerbs),
            R("apps", "Deployment", "deployments", "deployment", true, "deployments/", ["deploy"], ["all"], AllVerbs,
                scale, status("Deployment", "apps")),
            R("apps", "ReplicaSet", "replicasets", "replicaset", true, "replicasets/", ["rs"], ["all"], AllVerbs,
                scale, status("ReplicaSet", "apps")),
            R("apps", "DaemonSet", "daemonsets", "daemonset", true, "daemonsets/", ["ds"], ["all"], AllVerbs,
                status("DaemonSet", "apps")),
            R("coordination.k8s.io", "Lease", "leases", "lease", true, "leases/", [], [], AllVerbs),
            R("certificates.k8s.io", "CertificateSigningRequest", "certificatesigningrequests", "certificatesigningrequest",
                false, "certificatesigningrequests/", ["csr"], [], AllVerbs,
                new SubresourceInfo("approval", "certificates.k8s.io", "v1", "CertificateSigningRequest", StatusVerbs),
                status("CertificateSigningRequest", "certificates.k8s.io")),
            R("rbac.authorization.k8s.io", "Role", "roles", "role", true, "roles/", [], [], AllVerbs),
            R("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", "rolebinding", true, "rolebindings/", [], [], AllVerbs),
            R("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", "clusterrole", false, "clusterroles/", [], [], AllVerbs),
            R("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false,
                "clusterrolebindings/", [], [], AllVerbs),
        ];
    }

    private static ResourceInfo R(string group, string kind, string plural, string singular, bool namespaced,
        string prefix, string[] shortNames, string[] categories, string[] verbs, params SubresourceInfo[] subresources) =>
        new(group, "v1", kind, plural, singular, namespaced, prefix.Length == 0 ? "" : "/registry/" + prefix,
            shortNames, categories, verbs, subresources);
}
