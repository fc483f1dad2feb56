using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

/// <summary>
/// Objects in the store are kube-apiserver's JSON encoding without metadata.resourceVersion:
/// the resourceVersion a client sees is the key's mod revision, set on every read.
/// </summary>
public static class ObjectCodec
{
    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public static byte[] Encode(JsonObject obj)
    {
        var copy = obj.DeepClone().AsObject();
        ObjectFields.Metadata(copy).Remove("resourceVersion");
        return Encoding.UTF8.GetBytes(copy.ToJsonString(Compact));
    }

    public static JsonObject Decode(KeyValue kv) => Decode(kv.Value, kv.ModRevision);

    public static JsonObject Decode(byte[] value, long modRevision)
    {
        var obj = JsonNode.Parse(value)?.AsObject() ?? throw new InvalidDataException("stored value is not a JSON object");
        ObjectFields.Metadata(obj)["resourceVersion"] = modRevision.ToString(CultureInfo.InvariantCulture);
        return obj;
    }

    public static string Rfc3339(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
