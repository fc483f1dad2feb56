using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Auth;

/// <summary>
/// The bootstrap roles and bindings every API server ensures at start (create-if-absent, so a
/// cluster admin's edits survive restarts), modelled on kube-apiserver's bootstrappolicy: cluster-admin
/// for system:masters, discovery for everyone authenticated, and roles for nodes (system:nodes),
/// the scheduler, the controller manager and bootstrap-token holders (system:bootstrappers).
/// The controller manager runs as one identity here rather than one service account per controller.
/// </summary>
public static class DefaultRbac
{
    private static JsonObject Rule(string[] groups, string[] resources, string[] verbs) => new()
    {
        ["apiGroups"] = Array(groups), ["resources"] = Array(resources), ["verbs"] = Array(verbs),
    };

    private static JsonObject NonResource(string[] urls, string[] verbs) => new()
    {
        ["nonResourceURLs"] = Array(urls), ["verbs"] = Array(verbs),
    };

    private static JsonArray Array(string[] values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());

    private static readonly string[] Read = ["get", "list", "watch"];
    private static readonly string[] All = ["*"];

    public static IEnumerable<JsonObject> ClusterRoles()
    {
        yield return Role("cluster-admin", Rule(All, All, All), NonResource(All, All));
        yield return Role("system:discovery", NonResource(["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"], ["get"]));
        yield return Role("system:public-info-viewer", NonResource(["/healthz", "/livez", "/readyz", "/version", "/version/"], ["get"]));
        yield return Role("system:monitoring", NonResource(["/metrics", "/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*"], ["get"]));
        yield return Role("system:node",
            Rule([""], ["nodes", "nodes/status"], ["create", "get", "list", "watch", "update", "patch", "delete"]),
            Rule([""], ["pods"], ["get", "list", "watch", "create", "delete"]),
            Rule([""], ["pods/status"], ["update", "patch"]),
            Rule([""], ["pods/eviction"], ["create"]),
            Rule([""], ["services", "endpoints", "namespaces", "configmaps", "secrets", "serviceaccounts"], Read),
            Rule([""], ["events"], ["create", "update", "patch"]),
            Rule(["coordination.k8s.io"], ["leases"], ["create", "get", "list", "watch", "update", "patch", "delete"]),
            Rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list", "watch"]),
            Rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"], ["create"]));
        yield return Role("system:kube-scheduler",
            Rule([""], ["pods"], ["get", "list", "watch", "update", "patch", "delete"]),
            Rule([""], ["pods/binding"], ["create"]),
            Rule([""], ["pods/status"], ["update", "patch"]),
            Rule([""], ["nodes", "namespaces", "services", "endpoints", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"], Read),
            Rule(["apps"], ["replicasets", "statefulsets", "deployments", "daemonsets"], Read),
            Rule([""], ["events"], ["create", "update", "patch"]),
            Rule(["coordination.k8s.io"], ["leases"], ["create", "get", "list", "watch", "update", "patch"]));
        yield return Role("system:kube-controller-manager", Rule(All, All, All));
        yield return Role("system:node-bootstrapper",
            Rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list", "watch"]));
        yield return Role("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            Rule(["certificates.k8s.io"], ["certificatesigningrequests/nodeclient"], ["create"]));
        yield return Role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            Rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"], ["create"]));
    }

    public static IEnumerable<JsonObject> ClusterRoleBindings()
    {
        yield return Binding("cluster-admin", "cluster-admin", ("Group", "system:masters"));
        yield return Binding("system:discovery", "system:discovery", ("Group", "system:authenticated"));
        yield return Binding("system:public-info-viewer", "system:public-info-viewer", ("Group", "system:authenticated"), ("Group", "system:unauthenticated"));
        yield return Binding("system:node", "system:node", ("Group", "system:nodes"));
        yield return Binding("system:kube-scheduler", "system:kube-scheduler", ("User", "system:kube-scheduler"));
        yield return Binding("system:kube-controller-manager", "system:kube-controller-manager", ("User", "system:kube-controller-manager"));
        yield return Binding("kubeadm:get-nodes", "system:node-bootstrapper", ("Group", "system:bootstrappers"));
        yield return Binding("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", ("Group", "system:bootstrappers"));
        yield return Binding("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", ("Group", "system:nodes"));
    }

    private static JsonObject Metadata(string name) => new()
    {
        ["name"] = name,
        ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" },
        ["annotations"] = new JsonObject { ["rbac.authorization.kubernetes.io/autoupdate"] = "true" },
    };

    private static JsonObject Role(string name, params JsonObject[] rules) => new()
    {
        ["kind"] = "ClusterRole",
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["metadata"] = Metadata(name),
        ["rules"] = new JsonArray(rules.Select(r => (JsonNode)r).ToArray()),
    };

    private static JsonObject Binding(string name, string role, params (string Kind, string Name)[] subjects) => new()
    {
        ["kind"] = "ClusterRoleBinding",
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["metadata"] = Metadata(name),
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = role },
        ["subjects"] = new JsonArray(subjects.Select(s => (JsonNode)new JsonObject
        {
            ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = s.Kind, ["name"] = s.Name,
        }).ToArray()),
    };
}
