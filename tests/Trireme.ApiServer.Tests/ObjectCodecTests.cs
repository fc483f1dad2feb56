// Proves the stored encoding written straight from the tree is byte for byte what the earlier
// copy-then-ToJsonString encoding produced (same escaping, key order, numbers, nulls), minus
// metadata.resourceVersion, so values already in a store compare equal and unknown fields
// round-trip untouched. Method: encode a tricky object both ways.
using System.Text;
using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Tests;

public sealed class ObjectCodecTests
{
    private const string Tricky = """
        {"kind":"ConfigMap","apiVersion":"v1","unknownTop":{"z":[1,2.5,-3e3,null,true],"a":"x"},
         "metadata":{"name":"c","resourceVersion":"42","annotations":{"html":"<b>&amp;</b>'\"","uni":"héllo ✓ 😀","ctl":"a\tb\u0001"},"finalizers":null},
         "data":{"empty":"","big":"12345678901234567890"}}
        """;

    [Fact]
    public void Encode_matches_the_copy_and_serialize_form_without_resource_version()
    {
        var obj = JsonNode.Parse(Tricky)!.AsObject();
        var copy = obj.DeepClone().AsObject();
        copy["metadata"]!.AsObject().Remove("resourceVersion");
        var expected = copy.ToJsonString(ObjectCodec.Compact);

        var encoded = Encoding.UTF8.GetString(ObjectCodec.Encode(obj));

        Assert.Equal(expected, encoded);
        Assert.Equal("42", obj["metadata"]!["resourceVersion"]!.GetValue<string>()); // the object itself is untouched
    }

    [Fact]
    public void Decode_sets_the_resource_version_and_a_shared_decode_is_fully_built()
    {
        var kv = new Storage.KeyValue("/registry/configmaps/default/c", ObjectCodec.Encode(JsonNode.Parse(Tricky)!.AsObject()), 7, 9);
        var shared = ObjectCodec.DecodeShared(kv);
        Assert.Equal(9, ObjectCodec.ResourceVersionOf(shared));
        Assert.Equal("héllo ✓ 😀", shared["metadata"]!["annotations"]!["uni"]!.GetValue<string>());
    }
}
