using System.Text;
using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>
/// Decodes Kubernetes protobuf request bodies (<c>application/vnd.kubernetes.protobuf</c>) into the
/// JSON object the rest of the server handles. Envelope: magic <c>k8s\0</c> then runtime.Unknown
/// {1: TypeMeta{1 apiVersion, 2 kind}, 2: raw, 3: contentEncoding, 4: contentType}. Field numbers are
/// those of k8s.io/api generated.proto, for the kinds kubectl sends as protobuf (Deployment from
/// `kubectl create deployment`; Pod, Service, ReplicaSet, DaemonSet, Eviction for typed clients).
/// gogo-protobuf writes empty strings and zeros for non-pointer fields; those read as unset, except
/// pointer fields (replicas etc.) where zero is a value. Fields not modelled are skipped.
/// Bad bytes throw <see cref="ApiException"/> 400.
/// </summary>
public static class ProtobufBody
{
    public static ReadOnlySpan<byte> Magic => "k8s\0"u8;

    /// <summary>Nesting bound: real objects are a dozen levels deep; more is hostile input.</summary>
    public const int MaxDepth = 32;

    private enum T { String, Int, Bool, Map, MapBytes, Bytes, IntOrString, Time, Quantity, Message }

    private sealed record F(string Json, T Type, bool Repeated = false, string? Message = null, bool KeepZero = false);

    private static F Msg(string json, string message, bool repeated = false) => new(json, T.Message, repeated, message);

    private static readonly Dictionary<string, Dictionary<int, F>> Schemas = new()
    {
        ["TypeMeta"] = new() { [1] = new("apiVersion", T.String), [2] = new("kind", T.String) },
        ["ObjectMeta"] = new()
        {
            [1] = new("name", T.String), [2] = new("generateName", T.String), [3] = new("namespace", T.String),
            [5] = new("uid", T.String), [6] = new("resourceVersion", T.String), [11] = new("labels", T.Map),
            [12] = new("annotations", T.Map), [13] = Msg("ownerReferences", "OwnerReference", true),
            [14] = new("finalizers", T.String, true),
        },
        ["OwnerReference"] = new()
        {
            [1] = new("kind", T.String), [3] = new("name", T.String), [4] = new("uid", T.String), [5] = new("apiVersion", T.String),
            [6] = new("controller", T.Bool, KeepZero: true), [7] = new("blockOwnerDeletion", T.Bool, KeepZero: true),
        },
        ["LabelSelector"] = new() { [1] = new("matchLabels", T.Map), [2] = Msg("matchExpressions", "LabelSelectorRequirement", true) },
        ["LabelSelectorRequirement"] = new() { [1] = new("key", T.String), [2] = new("operator", T.String), [3] = new("values", T.String, true) },
        ["Deployment"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "DeploymentSpec") },
        ["DeploymentSpec"] = new()
        {
            [1] = new("replicas", T.Int, KeepZero: true), [2] = Msg("selector", "LabelSelector"), [3] = Msg("template", "PodTemplateSpec"),
            [4] = Msg("strategy", "DeploymentStrategy"), [5] = new("minReadySeconds", T.Int), [6] = new("revisionHistoryLimit", T.Int, KeepZero: true),
            [7] = new("paused", T.Bool), [9] = new("progressDeadlineSeconds", T.Int, KeepZero: true),
        },
        ["DeploymentStrategy"] = new() { [1] = new("type", T.String), [2] = Msg("rollingUpdate", "RollingUpdateDeployment") },
        ["RollingUpdateDeployment"] = new() { [1] = new("maxUnavailable", T.IntOrString), [2] = new("maxSurge", T.IntOrString) },
        ["ReplicaSet"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "ReplicaSetSpec") },
        ["ReplicaSetSpec"] = new()
        {
            [1] = new("replicas", T.Int, KeepZero: true), [2] = Msg("selector", "LabelSelector"), [3] = Msg("template", "PodTemplateSpec"),
            [4] = new("minReadySeconds", T.Int),
        },
        ["DaemonSet"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "DaemonSetSpec") },
        ["DaemonSetSpec"] = new() { [1] = Msg("selector", "LabelSelector"), [2] = Msg("template", "PodTemplateSpec") },
        ["PodTemplateSpec"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "PodSpec") },
        ["Pod"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "PodSpec") },
        ["PodSpec"] = new()
        {
            [2] = Msg("containers", "Container", true), [3] = new("restartPolicy", T.String),
            [4] = new("terminationGracePeriodSeconds", T.Int, KeepZero: true), [6] = new("dnsPolicy", T.String),
            [7] = new("nodeSelector", T.Map), [8] = new("serviceAccountName", T.String), [10] = new("nodeName", T.String),
            [11] = new("hostNetwork", T.Bool), [19] = new("schedulerName", T.String), [20] = Msg("initContainers", "Container", true),
        },
        ["Container"] = new()
        {
            [1] = new("name", T.String), [2] = new("image", T.String), [3] = new("command", T.String, true),
            [4] = new("args", T.String, true), [5] = new("workingDir", T.String), [6] = Msg("ports", "ContainerPort", true),
            [7] = Msg("env", "EnvVar", true), [8] = Msg("resources", "ResourceRequirements"),
            [13] = new("terminationMessagePath", T.String), [14] = new("imagePullPolicy", T.String),
            [20] = new("terminationMessagePolicy", T.String),
        },
        ["ResourceRequirements"] = new() { [1] = new("limits", T.Map), [2] = new("requests", T.Map) },
        ["ContainerPort"] = new()
        {
            [1] = new("name", T.String), [2] = new("hostPort", T.Int), [3] = new("containerPort", T.Int), [4] = new("protocol", T.String),
            [5] = new("hostIP", T.String),
        },
        ["EnvVar"] = new() { [1] = new("name", T.String), [2] = new("value", T.String) },
        ["Service"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "ServiceSpec") },
        ["ServiceSpec"] = new()
        {
            [1] = Msg("ports", "ServicePort", true), [2] = new("selector", T.Map), [3] = new("clusterIP", T.String),
            [4] = new("type", T.String), [7] = new("sessionAffinity", T.String),
        },
        ["ServicePort"] = new()
        {
            [1] = new("name", T.String), [2] = new("protocol", T.String), [3] = new("port", T.Int), [4] = new("targetPort", T.IntOrString),
            [5] = new("nodePort", T.Int),
        },
        ["Namespace"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("spec", "NamespaceSpec") },
        ["NamespaceSpec"] = new() { [1] = new("finalizers", T.String, true) },
        ["ConfigMap"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = new("data", T.Map), [3] = new("binaryData", T.MapBytes), [4] = new("immutable", T.Bool) },
        ["Secret"] = new()
        {
            [1] = Msg("metadata", "ObjectMeta"), [2] = new("data", T.MapBytes), [3] = new("type", T.String), [4] = new("stringData", T.Map),
            [5] = new("immutable", T.Bool),
        },
        ["ServiceAccount"] = new() { [1] = Msg("metadata", "ObjectMeta"), [4] = new("automountServiceAccountToken", T.Bool, KeepZero: true) },
        ["Subject"] = new() { [1] = new("kind", T.String), [2] = new("apiGroup", T.String), [3] = new("name", T.String), [4] = new("namespace", T.String) },
        ["RoleRef"] = new() { [1] = new("apiGroup", T.String), [2] = new("kind", T.String), [3] = new("name", T.String) },
        ["PolicyRule"] = new()
        {
            [1] = new("verbs", T.String, true), [2] = new("apiGroups", T.String, true), [3] = new("resources", T.String, true),
            [4] = new("resourceNames", T.String, true), [5] = new("nonResourceURLs", T.String, true),
        },
        ["ClusterRoleBinding"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("subjects", "Subject", true), [3] = Msg("roleRef", "RoleRef") },
        ["RoleBinding"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("subjects", "Subject", true), [3] = Msg("roleRef", "RoleRef") },
        ["ClusterRole"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("rules", "PolicyRule", true) },
        ["Role"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("rules", "PolicyRule", true) },
        ["Eviction"] = new() { [1] = Msg("metadata", "ObjectMeta"), [2] = Msg("deleteOptions", "DeleteOptions") },
        ["DeleteOptions"] = new()
        {
            [1] = new("gracePeriodSeconds", T.Int, KeepZero: true), [4] = new("propagationPolicy", T.String),
            [5] = new("dryRun", T.String, true),
        },
    };

    public static bool HasMagic(ReadOnlySpan<byte> body) => body.StartsWith(Magic);

    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (!HasMagic(body))
        {
            throw ApiException.BadRequest("protobuf body does not start with the k8s\\0 magic");
        }

        var unknown = DecodeMessage(body[4..].ToArray(), new()
        {
            [1] = Msg("typeMeta", "TypeMeta"), [2] = new("raw", T.Bytes),
            [3] = new("contentEncoding", T.String), [4] = new("contentType", T.String),
        }, 0, out var rawBytes);
        var apiVersion = ObjectFields.Str(unknown, "typeMeta", "apiVersion") ?? "";
        var kind = ObjectFields.Str(unknown, "typeMeta", "kind") ?? "";
        if (!Schemas.TryGetValue(kind, out var schema) || kind is "TypeMeta" or "ObjectMeta")
        {
            throw new ApiException(415, "UnsupportedMediaType",
                $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf decoding of kind \"{kind}\" is not supported)");
        }

        var obj = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
        var decoded = DecodeMessage(rawBytes ?? [], schema, 0, out _);
        foreach (var (k, v) in decoded.ToList())
        {
            decoded.Remove(k);
            obj[k] = v;
        }

        return obj;
    }

    private static JsonObject DecodeMessage(byte[] data, Dictionary<int, F> schema, int depth, out byte[]? raw)
    {
        raw = null;
        if (depth > MaxDepth)
        {
            throw ApiException.BadRequest("protobuf body nests too deeply");
        }

        var obj = new JsonObject();
        var reader = new Reader(data);
        while (!reader.End)
        {
            var tag = reader.Varint();
            var field = (int)(tag >> 3);
            var wire = (int)(tag & 7);
            if (field == 0)
            {
                throw ApiException.BadRequest("protobuf body has field number 0");
            }

            if (!schema.TryGetValue(field, out var f))
            {
                reader.Skip(wire);
                continue;
            }

            if (f.Type == T.Bytes)
            {
                raw = reader.Bytes(wire);
                continue;
            }

            var value = ReadValue(ref reader, wire, f, depth);
            if (value is null)
            {
                continue;
            }

            if (f.Type is T.Map or T.MapBytes)
            {
                var map = obj[f.Json] as JsonObject ?? new JsonObject();
                obj[f.Json] = map;
                var (k, v) = ((string, string))value;
                map[k] = v;
            }
            else if (f.Repeated)
            {
                var list = obj[f.Json] as JsonArray ?? new JsonArray();
                obj[f.Json] = list;
                list.Add(ToNode(value));
            }
            else
            {
                obj[f.Json] = ToNode(value);
            }
        }

        // gogo writes empty strings, zeros and empty messages for non-pointer fields: they mean unset.
        foreach (var (k, v) in obj.ToList())
        {
            var f = schema.Values.First(s => s.Json == k);
            var empty = v switch
            {
                JsonValue jv when jv.TryGetValue<string>(out var s) => s.Length == 0,
                JsonValue jv when jv.TryGetValue<long>(out var l) => l == 0 && !f.KeepZero,
                JsonValue jv when jv.TryGetValue<bool>(out var b) => !b && !f.KeepZero,
                JsonObject o => o.Count == 0 && f.Json != "resources",
                _ => false,
            };
            if (empty)
            {
                obj.Remove(k);
            }
        }

        return obj;
    }

    private static JsonNode? ToNode(object value) => value switch
    {
        JsonNode n => n,
        string s => JsonValue.Create(s),
        long l => JsonValue.Create(l),
        bool b => JsonValue.Create(b),
        _ => null,
    };

    private static object? ReadValue(ref Reader reader, int wire, F f, int depth)
    {
        switch (f.Type)
        {
            case T.String:
                return Encoding.UTF8.GetString(reader.Bytes(wire));
            case T.Int:
                return (long)reader.VarintOf(wire);
            case T.Bool:
                return reader.VarintOf(wire) != 0;
            case T.Map:
            {
                var entry = DecodeMessage(reader.Bytes(wire), new() { [1] = new("k", T.String), [2] = new("v", T.String) }, depth + 1, out _);
                return (ObjectFields.Str(entry, "k") ?? "", ObjectFields.Str(entry, "v") ?? "");
            }

            case T.MapBytes:
            {
                // map<string, bytes>: JSON carries the bytes base64-encoded (Secret.data, ConfigMap.binaryData).
                var entry = DecodeMessage(reader.Bytes(wire), new() { [1] = new("k", T.String), [2] = new("v", T.Bytes) }, depth + 1, out var value);
                return (ObjectFields.Str(entry, "k") ?? "", Convert.ToBase64String(value ?? []));
            }

            case T.IntOrString:
            {
                var ios = DecodeMessage(reader.Bytes(wire), new()
                {
                    [1] = new("type", T.Int, KeepZero: true), [2] = new("intVal", T.Int, KeepZero: true), [3] = new("strVal", T.String),
                }, depth + 1, out _);
                return ObjectFields.Int(ios, "type") == 1
                    ? JsonValue.Create(ObjectFields.Str(ios, "strVal") ?? "")
                    : JsonValue.Create(ObjectFields.Int(ios, "intVal") ?? 0);
            }

            case T.Message:
                return DecodeMessage(reader.Bytes(wire), Schemas[f.Message!], depth + 1, out _);
            default:
                reader.Skip(wire);
                return null;
        }
    }

    /// <summary>A bounds-checked protobuf wire reader; running off the end is a 400, never an exception of another kind.</summary>
    private ref struct Reader(byte[] data)
    {
        private readonly byte[] _data = data;
        private int _pos;

        public readonly bool End => _pos >= _data.Length;

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length)
                {
                    throw Truncated();
                }

                var b = _data[_pos++];
                result |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }

            throw ApiException.BadRequest("protobuf varint longer than 10 bytes");
        }

        public ulong VarintOf(int wire) => wire == 0 ? Varint() : throw WrongWire();

        public byte[] Bytes(int wire)
        {
            if (wire != 2)
            {
                throw WrongWire();
            }

            var length = Varint();
            if (length > (ulong)(_data.Length - _pos))
            {
                throw Truncated();
            }

            var bytes = _data.AsSpan(_pos, (int)length).ToArray();
            _pos += (int)length;
            return bytes;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    Advance(8);
                    break;
                case 2:
                    Bytes(2);
                    break;
                case 5:
                    Advance(4);
                    break;
                default:
                    throw ApiException.BadRequest($"protobuf wire type {wire} is not supported");
            }
        }

        private void Advance(int n)
        {
            if (_data.Length - _pos < n)
            {
                throw Truncated();
            }

            _pos += n;
        }

        private static ApiException Truncated() => ApiException.BadRequest("protobuf body is truncated");

        private static ApiException WrongWire() => ApiException.BadRequest("protobuf field has an unexpected wire type");
    }
}
