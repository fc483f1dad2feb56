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

    /// <summary>
    /// The stored form: the object's JSON with metadata.resourceVersion left out, written straight
    /// from the tree (no copy of the object). The escaping is JsonNode's default, as before.
    /// </summary>
    public static byte[] Encode(JsonObject obj)
    {
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in obj)
            {
                writer.WritePropertyName(name);
                if (name == "metadata" && value is JsonObject metadata)
                {
                    writer.WriteStartObject();
                    foreach (var (field, v) in metadata)
                    {
                        if (field != "resourceVersion")
                        {
                            writer.WritePropertyName(field);
                            WriteValue(writer, v);
                        }
                    }

                    writer.WriteEndObject();
                }
                else
                {
                    WriteValue(writer, value);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes a node (null as JSON null) with the default options JsonNode.ToJsonString uses.</summary>
    public static void WriteValue(Utf8JsonWriter writer, JsonNode? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            value.WriteTo(writer);
        }
    }

    public static JsonObject Decode(KeyValue kv) => Decode(kv.Value, kv.ModRevision);

    public static JsonObject Decode(byte[] value, long modRevision)
    {
        var obj = JsonNode.Parse(value)?.AsObject() ?? throw new InvalidDataException("stored value is not a JSON object");
        ObjectFields.Metadata(obj)["resourceVersion"] = modRevision.ToString(CultureInfo.InvariantCulture);
        return obj;
    }

    /// <summary>
    /// Decodes an object that many threads will read at once (the watch cache's). JsonNode.Parse
    /// builds objects and arrays lazily on first access, and that first access is not thread-safe,
    /// so every node is built here, before the object is shared.
    /// </summary>
    public static JsonObject DecodeShared(KeyValue kv)
    {
        var obj = Decode(kv);
        Materialize(obj);
        return obj;
    }

    /// <summary>Forces every lazily parsed object and array under node to build its children.</summary>
    public static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    Materialize(child);
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    Materialize(child);
                }

                break;
        }
    }

    /// <summary>metadata.resourceVersion of an object read from the store (always set by Decode).</summary>
    public static long ResourceVersionOf(JsonObject obj) =>
        long.TryParse(ObjectFields.Str(obj, "metadata", "resourceVersion"), NumberStyles.None, CultureInfo.InvariantCulture, out var rv)
            ? rv
            : throw new InvalidDataException("cached object has no resourceVersion");

    public static string Rfc3339(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
