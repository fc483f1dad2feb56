using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>
/// The defaults kube-apiserver fills on create (SetDefaults_* in k8s.io/kubernetes/pkg/apis/*/v1),
/// for the fields kubectl output and the controllers read. Only absent fields are set.
/// </summary>
public static class Defaulting
{
    public static void Apply(ResourceInfo resource, JsonObject obj)
    {
        switch (resource.Plural)
        {
            case "pods":
                PodSpec(Ensure(obj, "spec"));
                Set(Ensure(obj, "status"), "phase", "Pending");
                Set(Ensure(obj, "status"), "qosClass", "BestEffort");
                break;
            case "deployments":
                Workload(obj);
                var strategy = Ensure(Ensure(obj, "spec"), "strategy");
                Set(strategy, "type", "RollingUpdate");
                if (ObjectFields.Str(strategy, "type") == "RollingUpdate")
                {
                    var rolling = Ensure(strategy, "rollingUpdate");
                    Set(rolling, "maxUnavailable", "25%");
                    Set(rolling, "maxSurge", "25%");
                }

                Set(obj["spec"]!.AsObject(), "revisionHistoryLimit", 10);
                Set(obj["spec"]!.AsObject(), "progressDeadlineSeconds", 600);
                break;
            case "replicasets":
                Workload(obj);
                break;
            case "daemonsets":
                PodTemplate(obj);
                var ds = Ensure(Ensure(obj, "spec"), "updateStrategy");
                Set(ds, "type", "RollingUpdate");
                Set(obj["spec"]!.AsObject(), "revisionHistoryLimit", 10);
                break;
            case "services":
                Service(Ensure(obj, "spec"));
                Ensure(Ensure(obj, "status"), "loadBalancer");
                break;
            case "namespaces":
                Set(Ensure(obj, "spec"), "finalizers", new JsonArray("kubernetes"));
                Set(Ensure(obj, "status"), "phase", "Active");
                // Since 1.21 every namespace carries its own name as an immutable label.
                Ensure(ObjectFields.Metadata(obj), "labels")["kubernetes.io/metadata.name"] = ObjectFields.Name(obj);
                break;
            case "secrets":
                Set(obj, "type", "Opaque");
                break;
            case "nodes":
                var capacity = ObjectFields.Obj(obj, "status", "capacity");
                if (capacity is not null && ObjectFields.Obj(obj, "status", "allocatable") is null)
                {
                    obj["status"]!["allocatable"] = capacity.DeepClone();
                }

                break;
        }
    }

    private static void Workload(JsonObject obj)
    {
        Set(Ensure(obj, "spec"), "replicas", 1);
        PodTemplate(obj);
    }

    private static void PodTemplate(JsonObject obj)
    {
        var template = Ensure(Ensure(obj, "spec"), "template");
        PodSpec(Ensure(template, "spec"));
    }

    private static void PodSpec(JsonObject spec)
    {
        Set(spec, "restartPolicy", "Always");
        Set(spec, "dnsPolicy", "ClusterFirst");
        Set(spec, "schedulerName", "default-scheduler");
        Set(spec, "terminationGracePeriodSeconds", 30);
        Set(spec, "securityContext", new JsonObject());
        Set(spec, "enableServiceLinks", true);
        Set(spec, "preemptionPolicy", "PreemptLowerPriority");
        Set(spec, "priority", 0);
        foreach (var list in new[] { "containers", "initContainers" })
        {
            if (spec[list] is not JsonArray containers)
            {
                continue;
            }

            foreach (var c in containers.OfType<JsonObject>())
            {
                Container(c);
            }
        }
    }

    private static void Container(JsonObject c)
    {
        var image = ObjectFields.Str(c, "image") ?? "";
        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var tagged = lastSegment.Contains(':', StringComparison.Ordinal) && !lastSegment.EndsWith(":latest", StringComparison.Ordinal);
        Set(c, "imagePullPolicy", tagged || image.Contains('@', StringComparison.Ordinal) ? "IfNotPresent" : "Always");
        Set(c, "terminationMessagePath", "/dev/termination-log");
        Set(c, "terminationMessagePolicy", "File");
        Set(c, "resources", new JsonObject());
        if (c["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>())
            {
                Set(p, "protocol", "TCP");
            }
        }
    }

    private static void Service(JsonObject spec)
    {
        Set(spec, "type", "ClusterIP");
        Set(spec, "sessionAffinity", "None");
        var type = ObjectFields.Str(spec, "type");
        if (type is "NodePort" or "LoadBalancer")
        {
            Set(spec, "externalTrafficPolicy", "Cluster");
        }

        if (type != "ExternalName")
        {
            Set(spec, "internalTrafficPolicy", "Cluster");
            Set(spec, "ipFamilies", new JsonArray("IPv4"));
            Set(spec, "ipFamilyPolicy", "SingleStack");
        }

        if (spec["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>())
            {
                Set(p, "protocol", "TCP");
                if (p["targetPort"] is null && p["port"] is { } port)
                {
                    p["targetPort"] = port.DeepClone();
                }
            }
        }
    }

    public static JsonObject Ensure(JsonObject obj, string field)
    {
        if (obj[field] is JsonObject existing)
        {
            return existing;
        }

        var created = new JsonObject();
        obj[field] = created;
        return created;
    }

    private static void Set(JsonObject obj, string field, JsonNode value)
    {
        if (obj[field] is null)
        {
            obj[field] = value;
        }
    }
}
