using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Trireme.ApiServer.Core;

/// <summary>One reason an object was refused, as a StatusCause (reason FieldValueInvalid etc.).</summary>
public sealed record FieldCause(string Reason, string Field, string Message);

/// <summary>
/// Object validation with apimachinery's name rules (DNS-1123 label/subdomain, qualified names,
/// label values) and the per-kind required fields kubectl users hit first. A non-empty result is a
/// 422 Invalid with these causes.
/// </summary>
public static partial class Validation
{
    public const int Dns1123LabelMaxLength = 63;
    public const int Dns1123SubdomainMaxLength = 253;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNamePart();

    public static bool IsDns1123Label(string s) => s.Length is > 0 and <= Dns1123LabelMaxLength && Dns1123Label().IsMatch(s);

    public static bool IsDns1123Subdomain(string s) =>
        s.Length is > 0 and <= Dns1123SubdomainMaxLength && Dns1123Subdomain().IsMatch(s);

    public static bool IsQualifiedName(string s)
    {
        var slash = s.IndexOf('/', StringComparison.Ordinal);
        var name = slash >= 0 ? s[(slash + 1)..] : s;
        if (slash >= 0 && !IsDns1123Subdomain(s[..slash]))
        {
            return false;
        }

        return name.Length is > 0 and <= 63 && QualifiedNamePart().IsMatch(name);
    }

    public static bool IsLabelValue(string s) => s.Length == 0 || (s.Length <= 63 && QualifiedNamePart().IsMatch(s));

    /// <summary>Names that are DNS labels in kube-apiserver; everything else is a subdomain.</summary>
    private static readonly HashSet<string> LabelNamed = ["namespaces", "services"];

    private const string Dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    private const string Dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    public static string? NameError(ResourceInfo resource, string name)
    {
        if (resource.Group == "rbac.authorization.k8s.io")
        {
            // RBAC names are path segments only ("system:node" is legal).
            return name.Contains('/', StringComparison.Ordinal) || name is "." or ".." ? "may not contain '/'" : null;
        }

        if (LabelNamed.Contains(resource.Plural))
        {
            return IsDns1123Label(name) ? null : Dns1123LabelMessage;
        }

        return IsDns1123Subdomain(name) ? null : Dns1123SubdomainMessage;
    }

    public static List<FieldCause> Validate(ResourceInfo resource, JsonObject obj)
    {
        var causes = new List<FieldCause>();
        var name = ObjectFields.Name(obj);
        if (name.Length == 0)
        {
            causes.Add(new FieldCause("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"));
        }
        else if (NameError(resource, name) is { } nameError)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "metadata.name", $"Invalid value: \"{name}\": {nameError}"));
        }

        foreach (var (key, value) in ObjectFields.Labels(obj))
        {
            if (!IsQualifiedName(key))
            {
                causes.Add(new FieldCause("FieldValueInvalid", "metadata.labels", $"Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'"));
            }
            else if (!IsLabelValue(value))
            {
                causes.Add(new FieldCause("FieldValueInvalid", "metadata.labels", $"Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
            }
        }

        switch (resource.Plural)
        {
            case "pods":
                ValidatePodSpec(ObjectFields.Obj(obj, "spec"), "spec", causes);
                break;
            case "deployments" or "replicasets" or "daemonsets":
                ValidateWorkload(obj, causes);
                break;
            case "services":
                ValidateService(obj, causes);
                break;
        }

        return causes;
    }

    private static void ValidatePodSpec(JsonObject? spec, string path, List<FieldCause> causes)
    {
        var containers = ObjectFields.Arr(spec, "containers");
        if (containers is null || containers.Count == 0)
        {
            causes.Add(new FieldCause("FieldValueRequired", $"{path}.containers", "Required value"));
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject;
            var cname = ObjectFields.Str(c, "name") ?? "";
            var cpath = $"{path}.containers[{i}]";
            if (cname.Length == 0)
            {
                causes.Add(new FieldCause("FieldValueRequired", $"{cpath}.name", "Required value"));
            }
            else if (!IsDns1123Label(cname))
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"{cpath}.name", $"Invalid value: \"{cname}\": {Dns1123LabelMessage}"));
            }
            else if (!seen.Add(cname))
            {
                causes.Add(new FieldCause("FieldValueDuplicate", $"{cpath}.name", $"Duplicate value: \"{cname}\""));
            }

            if (string.IsNullOrEmpty(ObjectFields.Str(c, "image")))
            {
                causes.Add(new FieldCause("FieldValueRequired", $"{cpath}.image", "Required value"));
            }
        }
    }

    private static void ValidateWorkload(JsonObject obj, List<FieldCause> causes)
    {
        var selector = ObjectFields.Obj(obj, "spec", "selector");
        if (selector is null || selector.Count == 0)
        {
            causes.Add(new FieldCause("FieldValueRequired", "spec.selector", "Required value"));
        }

        var templateLabels = ObjectFields.StringMap(ObjectFields.Obj(obj, "spec", "template", "metadata", "labels"));
        var matchLabels = ObjectFields.StringMap(ObjectFields.Obj(selector, "matchLabels"));
        if (matchLabels.Any(kv => !templateLabels.TryGetValue(kv.Key, out var v) || v != kv.Value))
        {
            causes.Add(new FieldCause("FieldValueInvalid", "spec.template.metadata.labels",
                "Invalid value: map[string]string{...}: `selector` does not match template `labels`"));
        }

        if (ObjectFields.Int(obj, "spec", "replicas") is < 0)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "spec.replicas", "Invalid value: must be greater than or equal to 0"));
        }

        ValidatePodSpec(ObjectFields.Obj(obj, "spec", "template", "spec"), "spec.template.spec", causes);
    }

    private static void ValidateService(JsonObject obj, List<FieldCause> causes)
    {
        var ports = ObjectFields.Arr(obj, "spec", "ports");
        var type = ObjectFields.Str(obj, "spec", "type") ?? "ClusterIP";
        if (type != "ExternalName" && ObjectFields.Str(obj, "spec", "clusterIP") != "None" && (ports is null || ports.Count == 0))
        {
            causes.Add(new FieldCause("FieldValueRequired", "spec.ports", "Required value"));
        }

        for (var i = 0; ports is not null && i < ports.Count; i++)
        {
            var port = ObjectFields.Int(ports[i], "port");
            if (port is null or < 1 or > 65535)
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"spec.ports[{i}].port",
                    $"Invalid value: {port ?? 0}: must be between 1 and 65535, inclusive"));
            }
        }

        if (type is not ("ClusterIP" or "NodePort" or "LoadBalancer" or "ExternalName"))
        {
            causes.Add(new FieldCause("FieldValueNotSupported", "spec.type",
                $"Unsupported value: \"{type}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""));
        }
    }
}
