// Proves real kubectl 1.32 drives `trireme apiserver` as it drives kube-apiserver: every command of
// research/kubectl/SURFACE.md with assertions on what kubectl prints (table headers and cells as a
// real cluster prints them), -o json/yaml/jsonpath round trips, label/annotate/patch (three types),
// apply create/update/unchanged, protobuf create, scale, describe, cordon/uncordon/drain, delete and
// wait --for=delete, and two API servers over one etcd: written through A, watched through B.
// Method: the same test bodies run once per store backend (KubectlOnTriremeStoreTests: a 3-member
// `trireme store` cluster with A and B on different members; KubectlOnEtcdTests: real etcd 3.4), each
// class sharing one fixture (store + two server processes); each test uses its own names.
using System.Text.Json.Nodes;
using Trireme.Testing;

namespace Trireme.ApiServer.Kubectl.Tests;

public sealed class KubectlOnTriremeStoreTests(TriremeStoreBackend cluster) : KubectlTests(cluster), IClassFixture<TriremeStoreBackend>;

public sealed class KubectlOnEtcdTests(EtcdBackend cluster) : KubectlTests(cluster), IClassFixture<EtcdBackend>;

public abstract class KubectlTests(ClusterFixture cluster)
{
    private void SkipIfUnavailable()
    {
        if (cluster.SkipReason is { } reason)
        {
            Assert.Skip(reason);
        }
    }

    private static string NodeJson(string name, string ip) => """
        {"apiVersion":"v1","kind":"Node","metadata":{"name":"NODENAME","labels":{"kubernetes.io/hostname":"NODENAME","node-role.kubernetes.io/control-plane":""}},
         "spec":{"podCIDR":"10.244.0.0/24"},
         "status":{"capacity":{"cpu":"2","memory":"4026508Ki","pods":"110"},
          "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status","lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}],
          "addresses":[{"type":"InternalIP","address":"NODEIP"},{"type":"Hostname","address":"NODENAME"}],
          "nodeInfo":{"kubeletVersion":"v1.32.4","osImage":"Debian GNU/Linux 12 (bookworm)","kernelVersion":"6.1.0","containerRuntimeVersion":"containerd://1.6.20","architecture":"amd64","operatingSystem":"linux","machineID":"m","systemUUID":"s","bootID":"b","kubeProxyVersion":"v1.32.4"}}}
        """.Replace("NODENAME", name, StringComparison.Ordinal).Replace("NODEIP", ip, StringComparison.Ordinal);

    private async Task CreateFromTextAsync(string text, string kubeconfig = "")
    {
        var file = Path.Combine(cluster.Dir, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, text);
        await cluster.OkOnAsync(kubeconfig.Length > 0 ? kubeconfig : cluster.KubeconfigA, "create", "-f", file);
    }

    [Fact]
    public async Task Version_healthz_readyz_and_api_resources()
    {
        SkipIfUnavailable();
        var version = await cluster.OkAsync("version");
        Assert.Contains("Server Version: v1.32.4", version, StringComparison.Ordinal);
        Assert.Equal("ok", await cluster.OkAsync("get", "--raw", "/healthz"));
        var ready = await cluster.OkAsync("get", "--raw", "/readyz?verbose");
        Assert.Contains("[+]etcd ok", ready, StringComparison.Ordinal);
        var resources = await cluster.OkAsync("api-resources");
        Assert.Contains(resources.Split('\n'), l => ClusterFixture.Columns(l) is ["pods", "po", "v1", "true", "Pod"]);
        Assert.Contains(resources.Split('\n'), l => ClusterFixture.Columns(l) is ["deployments", "deploy", "apps/v1", "true", "Deployment"]);
        var metrics = await cluster.OkAsync("get", "--raw", "/metrics");
        Assert.Contains("apiserver_request_total{", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_nodes_wide_and_describe_print_like_a_real_cluster()
    {
        SkipIfUnavailable();
        await CreateFromTextAsync(NodeJson("kn-1", "127.0.0.11"));
        var lines = (await cluster.OkAsync("get", "no")).Split('\n');
        Assert.Equal(["NAME", "STATUS", "ROLES", "AGE", "VERSION"], ClusterFixture.Columns(lines[0]));
        var row = ClusterFixture.Columns(lines.Single(l => l.StartsWith("kn-1 ", StringComparison.Ordinal)));
        Assert.Equal(["kn-1", "Ready", "control-plane"], row[..3]);
        Assert.Equal("v1.32.4", row[4]);
        var wide = (await cluster.OkAsync("get", "nodes", "-o", "wide")).Split('\n');
        Assert.Equal(["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
            ClusterFixture.Columns(wide[0]));
        var wideRow = ClusterFixture.Columns(wide.Single(l => l.StartsWith("kn-1 ", StringComparison.Ordinal)));
        Assert.Equal(["127.0.0.11", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0", "containerd://1.6.20"], wideRow[5..]);
        var describe = await cluster.OkAsync("describe", "node", "kn-1");
        Assert.Contains("Name:               kn-1", describe, StringComparison.Ordinal);
        Assert.Contains("Kubelet Version:            v1.32.4", describe, StringComparison.Ordinal);
        Assert.Contains("InternalIP:  127.0.0.11", describe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_componentstatuses_reports_etcd_from_real_health_with_the_deprecation_warning()
    {
        SkipIfUnavailable();
        var result = await cluster.KubectlAsync("get", "cs");
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Output.Split('\n');
        Assert.Equal(["NAME", "STATUS", "MESSAGE", "ERROR"], ClusterFixture.Columns(lines[0]));
        Assert.Contains(lines, l => ClusterFixture.Columns(l) is ["etcd-0", "Healthy", "ok"]);
        Assert.Contains(lines, l => l.StartsWith("scheduler ", StringComparison.Ordinal));
        Assert.Contains("Warning: v1 ComponentStatus is deprecated in v1.19+", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_kube_system_namespace_prints_no_resources()
    {
        SkipIfUnavailable();
        var result = await cluster.KubectlAsync("-n", "kube-system", "get", "po");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No resources found in kube-system namespace.", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_expose_and_get_po_svc_allocate_cluster_ip_and_node_port()
    {
        SkipIfUnavailable();
        Assert.Equal("pod/web1 created", await cluster.OkAsync("run", "web1", "--image", "nginx", "--restart=Never", "--port", "80"));
        Assert.Equal("service/web1 exposed", await cluster.OkAsync("expose", "pod", "web1", "--port", "80", "--type", "NodePort"));
        var output = await cluster.OkAsync("get", "po,svc");
        var lines = output.Split('\n');
        Assert.Equal(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ClusterFixture.Columns(lines[0]));
        Assert.Contains(lines, l => ClusterFixture.Columns(l) is ["pod/web1", "0/1", "Pending", "0", _]);
        Assert.Contains(lines, l => ClusterFixture.Columns(l) is ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
        var svc = ClusterFixture.Columns(lines.Single(l => l.StartsWith("service/web1 ", StringComparison.Ordinal)));
        Assert.Equal("NodePort", svc[1]);
        Assert.StartsWith("10.", svc[2], StringComparison.Ordinal);
        Assert.Matches("^80:3[0-9]{4}/TCP$", svc[4]);
        Assert.Contains(lines, l => ClusterFixture.Columns(l) is ["service/kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", _]);
        var logs = await cluster.KubectlAsync("logs", "web1");
        Assert.NotEqual(0, logs.ExitCode);
        Assert.Contains("pod web1 does not have a host assigned", logs.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_creates_then_configures_then_leaves_unchanged_and_delete_f_removes()
    {
        SkipIfUnavailable();
        var file = Path.Combine(cluster.Dir, "hello.yaml");
        const string Manifest = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: hello
              labels: {app: hello}
            spec:
              replicas: REPLICAS
              selector: {matchLabels: {app: hello}}
              template:
                metadata: {labels: {app: hello}}
                spec:
                  containers:
                  - name: hello
                    image: nginx
                    ports: [{containerPort: 80}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: hello}
            spec:
              selector: {app: hello}
              ports: [{port: 80, targetPort: 80}]
            """;
        File.WriteAllText(file, Manifest.Replace("REPLICAS", "2", StringComparison.Ordinal));
        Assert.Equal("deployment.apps/hello created\nservice/hello created", await cluster.OkAsync("apply", "-f", file));
        File.WriteAllText(file, Manifest.Replace("REPLICAS", "3", StringComparison.Ordinal));
        Assert.Equal("deployment.apps/hello configured\nservice/hello unchanged", await cluster.OkAsync("apply", "-f", file));
        Assert.Equal("deployment.apps/hello unchanged\nservice/hello unchanged", await cluster.OkAsync("apply", "-f", file));
        Assert.Equal("3", await cluster.OkAsync("get", "deploy", "hello", "-o", "jsonpath={.spec.replicas}"));
        var deploy = ClusterFixture.Columns((await cluster.OkAsync("get", "deploy", "hello")).Split('\n')[0]);
        Assert.Equal(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], deploy);
        Assert.Equal("deployment.apps \"hello\" deleted\nservice \"hello\" deleted", await cluster.OkAsync("delete", "-f", file));
    }

    [Fact]
    public async Task Create_deployment_sends_protobuf_and_scale_patches_the_scale_subresource()
    {
        SkipIfUnavailable();
        Assert.Equal("deployment.apps/pbweb created", await cluster.OkAsync("create", "deployment", "pbweb", "--image=nginx", "--replicas=3"));
        Assert.Equal("3", await cluster.OkAsync("get", "deploy", "pbweb", "-o", "jsonpath={.spec.replicas}"));
        Assert.Equal("deployment.apps/pbweb scaled", await cluster.OkAsync("scale", "deployment", "pbweb", "--replicas=5"));
        Assert.Equal("5", await cluster.OkAsync("get", "deploy", "pbweb", "-o", "jsonpath={.spec.replicas}"));
        var json = JsonNode.Parse(await cluster.OkAsync("get", "deploy", "pbweb", "-o", "json"))!;
        Assert.Equal("nginx", json["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("RollingUpdate", json["spec"]!["strategy"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Label_annotate_and_all_three_patch_types_round_trip_through_json_and_yaml()
    {
        SkipIfUnavailable();
        await cluster.OkAsync("run", "lp", "--image", "nginx", "--restart=Never");
        Assert.Equal("pod/lp labeled", await cluster.OkAsync("label", "pod", "lp", "tier=web"));
        Assert.Equal("pod/lp annotated", await cluster.OkAsync("annotate", "pod", "lp", "note=hi"));
        Assert.Equal("pod/lp patched", await cluster.OkAsync("patch", "pod", "lp", "-p", """{"metadata":{"labels":{"s":"1"}}}"""));
        Assert.Equal("pod/lp patched", await cluster.OkAsync("patch", "pod", "lp", "--type", "merge", "-p", """{"metadata":{"labels":{"m":"2"}}}"""));
        Assert.Equal("pod/lp patched", await cluster.OkAsync("patch", "pod", "lp", "--type", "json", "-p", """[{"op":"add","path":"/metadata/labels/j","value":"3"}]"""));
        var labels = await cluster.OkAsync("get", "pod", "lp", "-o", "jsonpath={.metadata.labels}");
        var parsed = JsonNode.Parse(labels)!.AsObject();
        Assert.Equal(["j", "m", "run", "s", "tier"], parsed.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal("hi", await cluster.OkAsync("get", "pod", "lp", "-o", "jsonpath={.metadata.annotations.note}"));

        // -o yaml and -o json both round-trip through replace.
        var yamlFile = Path.Combine(cluster.Dir, "lp.yaml");
        File.WriteAllText(yamlFile, (await cluster.OkAsync("get", "pod", "lp", "-o", "yaml")).Replace("note: hi", "note: yaml", StringComparison.Ordinal));
        Assert.Equal("pod/lp replaced", await cluster.OkAsync("replace", "-f", yamlFile));
        Assert.Equal("yaml", await cluster.OkAsync("get", "pod", "lp", "-o", "jsonpath={.metadata.annotations.note}"));
        var jsonFile = Path.Combine(cluster.Dir, "lp.json");
        File.WriteAllText(jsonFile, (await cluster.OkAsync("get", "pod", "lp", "-o", "json")).Replace("\"note\": \"yaml\"", "\"note\": \"json\"", StringComparison.Ordinal));
        Assert.Equal("pod/lp replaced", await cluster.OkAsync("replace", "-f", jsonFile));
        Assert.Equal("json", await cluster.OkAsync("get", "pod", "lp", "-o", "jsonpath={.metadata.annotations.note}"));

        // A stale resourceVersion is a conflict.
        var stale = await cluster.KubectlAsync("replace", "-f", yamlFile);
        Assert.NotEqual(0, stale.ExitCode);
        Assert.Contains("the object has been modified", stale.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_through_server_b_sees_writes_through_server_a_and_wait_for_delete_returns()
    {
        SkipIfUnavailable();
        await cluster.OkAsync("create", "namespace", "watchns");
        using var watch = cluster.StartKubectl(cluster.KubeconfigB, "-n", "watchns", "get", "pods", "-w");
        // Whether the pod lands in the initial list or arrives as a watch event, it must show up:
        // the watch resumes from the list's resourceVersion, so nothing falls between the two.
        await cluster.OkOnAsync(cluster.KubeconfigA, "-n", "watchns", "run", "w1", "--image", "nginx", "--restart=Never");
        await Poll.UntilAsync(() => watch.OutputTail.Contains("w1 ", StringComparison.Ordinal), TimeSpan.FromSeconds(60),
            $"pod created through A appears in the watch through B; watch output:\n{watch.OutputTail}");

        // kubectl wait through B while the delete goes through A; it must end with success (exit 0)
        // whether it sees the DELETED event or finds the pod already gone.
        var wait = cluster.KubectlOnAsync(cluster.KubeconfigB, "-n", "watchns", "wait", "--for=delete", "pod/w1", "--timeout=60s");
        Assert.Equal("pod \"w1\" deleted", await cluster.OkOnAsync(cluster.KubeconfigA, "-n", "watchns", "delete", "pod", "w1"));
        var waited = await wait;
        Assert.True(waited.ExitCode == 0, waited.ToString());
        await Poll.UntilAsync(() => watch.OutputTail.Split('\n').Count(l => l.StartsWith("w1 ", StringComparison.Ordinal)) >= 2,
            TimeSpan.FromSeconds(60), $"the deletion reaches the watch through B; watch output:\n{watch.OutputTail}");
    }

    [Fact]
    public async Task Cordon_uncordon_and_drain_evict_bound_pods()
    {
        SkipIfUnavailable();
        await CreateFromTextAsync(NodeJson("kn-drain", "127.0.0.12"));
        Assert.Equal("node/kn-drain cordoned", await cluster.OkAsync("cordon", "kn-drain"));
        Assert.Contains(ClusterFixture.Columns((await cluster.OkAsync("get", "no", "kn-drain")).Split('\n')[1]), c => c == "Ready,SchedulingDisabled");
        Assert.Equal("node/kn-drain uncordoned", await cluster.OkAsync("uncordon", "kn-drain"));
        await CreateFromTextAsync("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"bound","namespace":"default"},
             "spec":{"nodeName":"kn-drain","containers":[{"name":"c","image":"nginx"}]}}
            """);
        var drain = await cluster.KubectlAsync("drain", "kn-drain", "--force", "--grace-period=0", "--timeout=60s");
        Assert.True(drain.ExitCode == 0, drain.ToString());
        Assert.Contains("node/kn-drain drained", drain.Output, StringComparison.Ordinal);
        Assert.Contains("pod/bound evicted", drain.Output, StringComparison.Ordinal);
        var gone = await cluster.KubectlAsync("get", "pod", "bound");
        Assert.Contains("NotFound", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bearer_token_user_is_authenticated_but_denied_by_rbac_until_bound()
    {
        SkipIfUnavailable();
        var config = Path.Combine(cluster.Dir, "alice.conf");
        var admin = File.ReadAllText(cluster.KubeconfigA);
        var cut = admin.IndexOf("users:", StringComparison.Ordinal);
        File.WriteAllText(config, admin[..cut].Replace("kubernetes-admin", "alice", StringComparison.Ordinal)
            + "users:\n- name: alice\n  user:\n    token: s3cr3t-token\n");
        var denied = await cluster.KubectlOnAsync(config, "get", "pods", "-n", "default");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"", denied.Error, StringComparison.Ordinal);
        await cluster.OkAsync("create", "clusterrolebinding", "alice-view", "--clusterrole=cluster-admin", "--group=devs");
        await Poll.UntilAsync(async () => (await cluster.KubectlOnAsync(config, "get", "pods", "-n", "default")).ExitCode == 0,
            TimeSpan.FromSeconds(30), "binding takes effect");
    }
}
