using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Trireme.ApiServer;

/// <summary>
/// Request body decoding by content type, the one wire decoder every write passes through (and the
/// fuzz target): JSON, YAML (converted to JSON), Kubernetes protobuf. Anything malformed is a 400,
/// an unknown media type a 415 — never another exception.
/// </summary>
public static class BodyDecoder
{
    private static readonly HashSet<string> PatchTypes =
    [
        "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ];

    public static JsonNode? Decode(byte[] bytes, string contentType, bool patch)
    {
        if (bytes.Length == 0)
        {
            throw ApiException.BadRequest("the request body is empty");
        }

        try
        {
            if (contentType == "application/vnd.kubernetes.protobuf" && !patch)
            {
                return ProtobufBody.Decode(bytes);
            }

            if (contentType is "application/yaml" or "application/apply-patch+yaml")
            {
                return Yaml(bytes);
            }

            if (contentType == "application/json" || (patch && PatchTypes.Contains(contentType)))
            {
                return JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
            }
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"couldn't get version/kind; json parse error: {ex.Message}");
        }
        catch (YamlException ex)
        {
            throw ApiException.BadRequest($"error converting YAML to JSON: {ex.Message}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or InvalidCastException or FormatException)
        {
            // YamlDotNet reports some malformed documents (stray tokens, alias misuse) this way.
            throw ApiException.BadRequest($"malformed body: {ex.Message}");
        }

        throw new ApiException(415, "UnsupportedMediaType",
            $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
    }

    private static JsonNode? Yaml(byte[] bytes)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(Encoding.UTF8.GetString(bytes)));
        if (stream.Documents.Count != 1)
        {
            throw ApiException.BadRequest("expected exactly one YAML document");
        }

        var budget = MaxYamlNodes;
        return Convert(stream.Documents[0].RootNode, 0, ref budget);
    }

    /// <summary>Bounds the JSON a YAML body may expand to: aliases can multiply nodes exponentially ("billion laughs").</summary>
    private const int MaxYamlNodes = 100_000;

    private static JsonNode? Convert(YamlNode node, int depth, ref int budget)
    {
        if (depth > 64)
        {
            throw ApiException.BadRequest("YAML nests too deeply");
        }

        if (--budget < 0)
        {
            throw ApiException.BadRequest($"YAML expands to more than {MaxYamlNodes} nodes");
        }

        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    var key = (k as YamlScalarNode)?.Value ?? throw ApiException.BadRequest("YAML mapping keys must be scalars");
                    obj[key] = Convert(v, depth + 1, ref budget);
                }

                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                foreach (var c in seq.Children)
                {
                    array.Add(Convert(c, depth + 1, ref budget));
                }

                return array;
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
                {
                    return JsonValue.Create(text);
                }

                if (text is "null" or "~" or "")
                {
                    return null;
                }

                if (text is "true" or "false")
                {
                    return JsonValue.Create(text == "true");
                }

                if (long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l))
                {
                    return JsonValue.Create(l);
                }

                return JsonValue.Create(text);
            default:
                throw ApiException.BadRequest("unsupported YAML node");
        }
    }
}
