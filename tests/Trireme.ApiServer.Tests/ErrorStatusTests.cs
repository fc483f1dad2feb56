// Proves bad input and refused requests come back as Status objects with kube-apiserver's reason and
// code: 400 malformed JSON/YAML/protobuf, malformed patches, bad selectors/limit/continue, and wrong kind, 401 no credentials, 403 RBAC denial, 404,
// 409 AlreadyExists and stale resourceVersion, 410 too-old watch, 413 oversized body, 415 media type,
// 422 DNS-1123 names with field causes, 429 max-in-flight. Method: the real host over TLS in-process,
// on the in-memory store, driven with HttpClient.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Tests;

public sealed class ErrorStatusTests : IAsyncLifetime
{
    private InProcessServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static StringContent Json(string text, string type = "application/json") =>
        new(text, new MediaTypeHeaderValue(type));

    private static async Task<JsonNode> AssertStatusAsync(HttpResponseMessage response, int code, string reason)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == code, $"expected {code}, got {(int)response.StatusCode}: {body}");
        var status = JsonNode.Parse(body)!;
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal(reason, status["reason"]!.GetValue<string>());
        Assert.Equal(code, status["code"]!.GetValue<int>());
        return status;
    }

    private const string Pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}""";

    [Fact]
    public async Task Malformed_json_yaml_and_protobuf_are_400()
    {
        var ct = TestContext.Current.CancellationToken;
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods", Json("{\"kind\":"), ct), 400, "BadRequest");
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods", Json("a: [b", "application/yaml"), ct), 400, "BadRequest");
        var pb = new ByteArrayContent([(byte)'k', (byte)'8', (byte)'s', 0, 0x0a, 0xff]);
        pb.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.kubernetes.protobuf");
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods", pb, ct), 400, "BadRequest");
    }

    [Fact]
    public async Task Wrong_kind_or_api_version_is_400()
    {
        var ct = TestContext.Current.CancellationToken;
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods",
            Json(Pod.Replace("\"Pod\"", "\"Service\"", StringComparison.Ordinal)), ct), 400, "BadRequest");
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods",
            Json(Pod.Replace("\"v1\"", "\"apps/v1\"", StringComparison.Ordinal)), ct), 400, "BadRequest");
    }

    [Fact]
    public async Task Invalid_names_and_fields_are_422_with_causes()
    {
        var ct = TestContext.Current.CancellationToken;
        var response = await _server.Admin.PostAsync("/api/v1/namespaces/default/pods",
            Json("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"}]}}"""), ct);
        var status = await AssertStatusAsync(response, 422, "Invalid");
        var fields = status["details"]!["causes"]!.AsArray().Select(c => c!["field"]!.GetValue<string>()).ToList();
        Assert.Contains("metadata.name", fields);
        Assert.Contains("spec.containers[0].image", fields);
    }

    [Fact]
    public async Task Unknown_resource_and_missing_object_are_404()
    {
        var ct = TestContext.Current.CancellationToken;
        await AssertStatusAsync(await _server.Admin.GetAsync("/api/v1/namespaces/default/widgets", ct), 404, "NotFound");
        var status = await AssertStatusAsync(await _server.Admin.GetAsync("/api/v1/namespaces/default/pods/nope", ct), 404, "NotFound");
        Assert.Equal("pods \"nope\" not found", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unsupported_media_type_is_415_and_huge_body_is_413()
    {
        var ct = TestContext.Current.CancellationToken;
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods", Json(Pod, "text/csv"), ct), 415, "UnsupportedMediaType");
        var huge = Json("{\"pad\":\"" + new string('x', 3 * 1024 * 1024 + 10) + "\"}");
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/configmaps", huge, ct), 413, "RequestEntityTooLarge");
    }

    [Fact]
    public async Task Malformed_patches_bodies_and_query_parameters_are_400_and_an_unknown_patch_type_415()
    {
        var ct = TestContext.Current.CancellationToken;
        const string cm = "/api/v1/namespaces/default/configmaps";
        Assert.Equal(HttpStatusCode.Created, (await _server.Admin.PostAsync(cm,
            Json("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"patched"},"data":{"a":"1"}}"""), ct)).StatusCode);
        async Task Patch(string body, string type, int code, string reason) =>
            await AssertStatusAsync(await _server.Admin.PatchAsync($"{cm}/patched", Json(body, type), ct), code, reason);

        await Patch("""[{"op":"frobnicate","path":"/data/a"}]""", "application/json-patch+json", 400, "BadRequest");
        await Patch("""{"op":"add"}""", "application/json-patch+json", 400, "BadRequest");
        await Patch("""[{"op":"test","path":"/data/a","value":"2"}]""", "application/json-patch+json", 422, "Invalid");
        await Patch("""{"data":""", "application/merge-patch+json", 400, "BadRequest");
        await Patch("""[1,2]""", "application/merge-patch+json", 400, "BadRequest");
        await Patch("""[1,2]""", "application/strategic-merge-patch+json", 400, "BadRequest");
        await Patch("""{"data":{"a":"2"}}""", "text/plain", 415, "UnsupportedMediaType");
        await Patch("""{"metadata":{"name":"renamed"}}""", "application/merge-patch+json", 400, "BadRequest");

        await AssertStatusAsync(await _server.Admin.PostAsync(cm, Json("[]"), ct), 400, "BadRequest");
        await AssertStatusAsync(await _server.Admin.GetAsync($"{cm}?labelSelector=a%20in%20(", ct), 400, "BadRequest");
        await AssertStatusAsync(await _server.Admin.GetAsync($"{cm}?fieldSelector=spec.unknown%3Dx", ct), 400, "BadRequest");
        await AssertStatusAsync(await _server.Admin.GetAsync($"{cm}?limit=ten", ct), 400, "BadRequest");
        await AssertStatusAsync(await _server.Admin.GetAsync($"{cm}?limit=1&continue=not-a-token", ct), 400, "BadRequest");
    }

    [Fact]
    public async Task Duplicate_create_and_stale_update_are_409()
    {
        var ct = TestContext.Current.CancellationToken;
        var created = await _server.Admin.PostAsync("/api/v1/namespaces/default/pods", Json(Pod), ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await AssertStatusAsync(await _server.Admin.PostAsync("/api/v1/namespaces/default/pods", Json(Pod), ct), 409, "AlreadyExists");
        var obj = JsonNode.Parse(await created.Content.ReadAsStringAsync(ct))!;
        var rv = obj["metadata"]!["resourceVersion"]!.GetValue<string>();
        obj["metadata"]!["labels"] = new JsonObject { ["a"] = "1" };
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin.PutAsync("/api/v1/namespaces/default/pods/p1", Json(obj.ToJsonString()), ct)).StatusCode);
        obj["metadata"]!["resourceVersion"] = rv;
        obj["metadata"]!["labels"] = new JsonObject { ["a"] = "2" };
        await AssertStatusAsync(await _server.Admin.PutAsync("/api/v1/namespaces/default/pods/p1", Json(obj.ToJsonString()), ct), 409, "Conflict");
    }

    [Fact]
    public async Task No_credentials_is_401_but_health_and_version_are_public()
    {
        var ct = TestContext.Current.CancellationToken;
        await AssertStatusAsync(await _server.Anonymous.GetAsync("/api/v1/pods", ct), 401, "Unauthorized");
        Assert.Equal("ok", await _server.Anonymous.GetStringAsync("/healthz", ct));
        Assert.Contains("\"minor\":\"32\"", await _server.Anonymous.GetStringAsync("/version", ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unbound_user_is_403_with_kube_apiservers_message()
    {
        var ct = TestContext.Current.CancellationToken;
        var status = await AssertStatusAsync(await _server.Bob.GetAsync("/api/v1/namespaces/default/pods", ct), 403, "Forbidden");
        Assert.Equal("pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
            status["message"]!.GetValue<string>());
        // Discovery is open to every authenticated user (system:discovery).
        Assert.Equal(HttpStatusCode.OK, (await _server.Bob.GetAsync("/api", ct)).StatusCode);
    }

    [Fact]
    public async Task Watch_from_a_compacted_window_is_410_gone()
    {
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < WatchCache.EventWindow + 20; i++)
        {
            var cm = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cNUM"}}""".Replace("NUM", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Created, (await _server.Admin.PostAsync("/api/v1/namespaces/default/configmaps", Json(cm), ct)).StatusCode);
        }

        var cache = _server.Host.Context.Caches["configmaps"];
        await Trireme.Testing.Poll.UntilAsync(() => cache.List(new WatchFilter(null, null, Core.LabelSelector.Everything, Core.FieldSelector.Everything)).Items.Count >= WatchCache.EventWindow + 20);
        await AssertStatusAsync(await _server.Admin.GetAsync("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2", ct), 410, "Expired");
    }
}
