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
        catch (InvalidOperationException ex)
        {
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

        return Convert(stream.Documents[0].RootNode, 0);
    }

    private static JsonNode? Convert(YamlNode node, int depth)
    {
        if (depth > 64)
        {
            throw ApiException.BadRequest("YAML nests too deeply");
        }

        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    obj[((YamlScalarNode)k).Value ?? ""] = Convert(v, depth + 1);
                }

                return obj;
            case YamlSequenceNode seq:
                return new JsonArray(seq.Children.Select(c => Convert(c, depth + 1)).ToArray());
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
