// Proves the pure API logic against the behaviour kubectl relies on: selector grammar and matching
// (including '!=' and empty values), the three patch types with the merge keys of the built-in types,
// DNS-1123 validation causes, kubectl's age format, and decoding the protobuf body kubectl 1.32
// really sent for `kubectl create deployment` (testdata/create-deployment-web.pb, captured).
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer.Tests;

public sealed class CoreTests
{
    private static readonly ResourceRegistry Registry = ResourceRegistry.Default;
    private static ResourceInfo Pods => Registry.Find("", "v1", "pods")!;

    private static readonly Dictionary<string, string> Labels = new() { ["app"] = "web", ["tier"] = "front" };

    [Theory]
    [InlineData("app=web", true)]
    [InlineData("app==web", true)]
    [InlineData("app!=web", false)]
    [InlineData("app in (web,db)", true)]
    [InlineData("app notin (web)", false)]
    [InlineData("tier", true)]
    [InlineData("!tier", false)]
    [InlineData("!missing,app=web", true)]
    [InlineData("missing!=x", true)]
    [InlineData("app=web,tier=back", false)]
    public void Label_selector_matches_like_apimachinery(string selector, bool expected) =>
        Assert.Equal(expected, LabelSelector.Parse(selector).Matches(Labels));

    [Theory]
    [InlineData("app in (web")]
    [InlineData("app=we b")]
    [InlineData("a b c")]
    [InlineData("-bad=1")]
    [InlineData("app in web")]
    public void Malformed_label_selectors_are_refused(string selector) =>
        Assert.Throws<SelectorParseException>(() => LabelSelector.Parse(selector));

    [Fact]
    public void Field_selector_handles_not_equal_and_empty_values()
    {
        var pod = JsonNode.Parse("""{"metadata":{"name":"p","namespace":"default"},"spec":{"nodeName":"n1"},"status":{"phase":"Running"}}""")!.AsObject();
        Assert.True(FieldSelector.Parse("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed").Matches(Pods, pod));
        Assert.False(FieldSelector.Parse("spec.nodeName=").Matches(Pods, pod));
        var events = Registry.Find("", "v1", "events")!;
        var ev = JsonNode.Parse("""{"involvedObject":{"kind":"Node","name":"n1"}}""")!.AsObject();
        Assert.True(FieldSelector.Parse("involvedObject.name=n1,involvedObject.namespace=,involvedObject.kind=Node").Matches(events, ev));
        Assert.Equal("spec.bogus", FieldSelector.Parse("spec.bogus=1").FirstUnsupported(Pods));
    }

    [Fact]
    public void Strategic_merge_patch_merges_containers_by_name_and_deletes_with_null()
    {
        var target = JsonNode.Parse("""{"spec":{"unschedulable":true,"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}""")!.AsObject();
        var patched = StrategicMergePatch.Apply(target, JsonNode.Parse(
            """{"spec":{"unschedulable":null,"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"name":"b","image":"z"},{"name":"c","image":"w"},{"name":"a","$patch":"delete"}]}}"""));
        Assert.Null(patched["spec"]!["unschedulable"]);
        var containers = patched["spec"]!["containers"]!.AsArray();
        Assert.Equal(["b:z", "c:w"], containers.Select(c => $"{c!["name"]}:{c["image"]}"));
    }

    [Fact]
    public void Strategic_merge_patch_merges_service_ports_by_port()
    {
        var target = JsonNode.Parse("""{"spec":{"ports":[{"port":80,"nodePort":30001}]}}""")!.AsObject();
        var patched = StrategicMergePatch.Apply(target, JsonNode.Parse("""{"spec":{"ports":[{"port":80,"name":"http"}]}}"""));
        Assert.Equal("""[{"port":80,"nodePort":30001,"name":"http"}]""", patched["spec"]!["ports"]!.ToJsonString());
    }

    [Fact]
    public void Merge_patch_replaces_lists_and_removes_nulls()
    {
        var target = JsonNode.Parse("""{"a":{"b":1,"c":[1,2]},"d":1}""")!.AsObject();
        var patched = Patches.MergePatch(target, JsonNode.Parse("""{"a":{"c":[3]},"d":null}"""));
        Assert.Equal("""{"a":{"b":1,"c":[3]}}""", patched.ToJsonString());
    }

    [Fact]
    public void Json_patch_applies_rfc6902_operations_and_reports_missing_paths()
    {
        var target = JsonNode.Parse("""{"metadata":{"labels":{"a":"1"}},"list":[1,2]}""")!.AsObject();
        var patched = Patches.JsonPatch(target, JsonNode.Parse(
            """[{"op":"add","path":"/metadata/labels/b","value":"2"},{"op":"remove","path":"/metadata/labels/a"},{"op":"replace","path":"/list/0","value":9},{"op":"add","path":"/list/-","value":3},{"op":"test","path":"/list/1","value":2}]"""));
        Assert.Equal("""{"metadata":{"labels":{"b":"2"}},"list":[9,2,3]}""", patched.ToJsonString());
        var error = Assert.Throws<ApiException>(() => Patches.JsonPatch(target, JsonNode.Parse("""[{"op":"remove","path":"/nope"}]""")));
        Assert.Equal(422, error.Code);
    }

    [Fact]
    public void Validation_reports_dns1123_causes_with_field_paths()
    {
        var pod = JsonNode.Parse("""{"metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"}]}}""")!.AsObject();
        var causes = Validation.Validate(Pods, pod);
        Assert.Contains(causes, c => c.Field == "metadata.name" && c.Reason == "FieldValueInvalid");
        Assert.Contains(causes, c => c.Field == "spec.containers[0].image" && c.Reason == "FieldValueRequired");
    }

    [Theory]
    [InlineData(5, "5s")]
    [InlineData(125, "2m5s")]
    [InlineData(3 * 3600 + 60, "3h1m")]
    [InlineData(690 * 86400, "690d")]
    [InlineData(800 * 86400, "2y70d")]
    public void Ages_print_like_kubectl(long seconds, string expected) =>
        Assert.Equal(expected, HumanDuration.Format(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Protobuf_body_from_kubectl_create_deployment_decodes()
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", "create-deployment-web.pb"));
        var obj = ProtobufBody.Decode(bytes);
        Assert.Equal("apps/v1", obj["apiVersion"]!.GetValue<string>());
        Assert.Equal("Deployment", obj["kind"]!.GetValue<string>());
        Assert.Equal("web", ObjectFields.Name(obj));
        Assert.Equal(3, ObjectFields.Int(obj, "spec", "replicas"));
        Assert.Equal("web", ObjectFields.Str(obj, "spec", "selector", "matchLabels", "app"));
        var container = ObjectFields.Arr(obj, "spec", "template", "spec", "containers")![0]!;
        Assert.Equal("nginx", ObjectFields.Str(container, "image"));
    }

    [Fact]
    public void Node_table_prints_status_roles_and_wide_columns()
    {
        var nodes = Registry.Find("", "v1", "nodes")!;
        var node = JsonNode.Parse("""{"metadata":{"name":"n1","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"node-role.kubernetes.io/control-plane":""}},"spec":{"unschedulable":true},"status":{"conditions":[{"type":"Ready","status":"True"}],"nodeInfo":{"kubeletVersion":"v1.32.4"},"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}""")!.AsObject();
        var table = TablePrinter.Table(nodes, [node], "7", null, new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero));
        var cells = table["rows"]![0]!["cells"]!.AsArray().Select(c => c!.ToString()).ToArray();
        Assert.Equal(["n1", "Ready,SchedulingDisabled", "control-plane", "24h", "v1.32.4", "10.0.0.1", "<none>"], cells[..7]);
    }
}
