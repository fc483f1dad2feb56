// Proves lists with resourceVersion unset are served from the watch cache only when it is provably
// current, and are never stale: a quiet resource (other prefixes moved the store's revision) lists
// from the cache without a store list; an object written straight to the store is in the very next
// list; with the cache's store watch held back, the list falls back to the store and still sees the
// write; limit/continue pages from the cache cover every object once, in key order, and a continue
// after a change answers the first page's snapshot from the store. Also that resourceVersion=0 lists
// can be repeated (cached objects are shared, never attached to a response tree). Method: an in-process
// server over the in-memory store, wrapped to count configmap list reads and to hold watch events.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Storage;
using Trireme.Testing;

namespace Trireme.ApiServer.Tests;

public sealed class ConsistentListTests
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";
    private const string Prefix = "/registry/configmaps/";

    private static StringContent Json(string text) => new(text, new MediaTypeHeaderValue("application/json"));

    private static async Task<JsonNode> OkAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static List<string> Names(JsonNode list) =>
        list["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToList();

    private static async Task CreateAsync(InProcessServer server, string name, CancellationToken ct) =>
        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsync(ConfigMaps,
            Json($$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}"}}"""), ct)).StatusCode);

    private static byte[] StoredConfigMap(string name) =>
        Encoding.UTF8.GetBytes($$$"""{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"{{{name}}}","namespace":"default","uid":"u-{{{name}}}","creationTimestamp":"2026-01-01T00:00:00Z"}}""");

    [Fact]
    public async Task Quiet_resource_lists_from_the_cache_and_a_store_write_is_in_the_next_list()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new GatedStore(new MemoryKeyValueStore());
        await using var server = await InProcessServer.StartAsync(store: store);
        await CreateAsync(server, "a", ct);
        // Another prefix moves the store's revision past the configmap cache's.
        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsync("/api/v1/namespaces/default/secrets",
            Json("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}"""), ct)).StatusCode);
        Assert.True(server.Host.Context.Caches["configmaps"].Revision < await store.CurrentRevisionAsync(ct));

        var lists = store.Lists;
        Assert.Equal(["a"], Names(await OkAsync(await server.Admin.GetAsync(ConfigMaps, ct), ct)));
        Assert.Equal(lists, store.Lists);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(WriteOutcome.Succeeded, (await store.CreateAsync($"{Prefix}default/direct-{i:D2}", StoredConfigMap($"direct-{i:D2}"), ct)).Outcome);
            Assert.Contains($"direct-{i:D2}", Names(await OkAsync(await server.Admin.GetAsync(ConfigMaps, ct), ct)));
        }
    }

    [Fact]
    public async Task A_cache_held_behind_the_store_falls_back_to_the_store_and_is_not_stale()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new GatedStore(new MemoryKeyValueStore());
        await using var server = await InProcessServer.StartAsync(store: store);
        await CreateAsync(server, "a", ct);
        await Poll.UntilAsync(() => server.Host.Context.Caches["configmaps"].Get($"{Prefix}default/a") is not null);

        store.HoldWatches();
        Assert.Equal(WriteOutcome.Succeeded, (await store.CreateAsync($"{Prefix}default/b", StoredConfigMap("b"), ct)).Outcome);
        var lists = store.Lists;
        Assert.Equal(["a", "b"], Names(await OkAsync(await server.Admin.GetAsync(ConfigMaps, ct), ct)));
        Assert.True(store.Lists > lists, "the list was answered by the store");
        store.ReleaseWatches();
    }

    [Fact]
    public async Task Limit_and_continue_page_from_the_cache_and_a_continue_after_a_change_keeps_its_snapshot()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new GatedStore(new MemoryKeyValueStore());
        await using var server = await InProcessServer.StartAsync(store: store);
        foreach (var name in new[] { "e", "b", "d", "a", "c" })
        {
            await CreateAsync(server, name, ct);
        }

        await Poll.UntilAsync(() => server.Host.Context.Caches["configmaps"].Get($"{Prefix}default/e") is not null);
        var lists = store.Lists;
        var seen = new List<string>();
        string? token = null;
        for (var page = 0; page < 10; page++)
        {
            var url = $"{ConfigMaps}?limit=2" + (token is null ? "" : $"&continue={Uri.EscapeDataString(token)}");
            var body = await OkAsync(await server.Admin.GetAsync(url, ct), ct);
            seen.AddRange(Names(body));
            token = body["metadata"]!["continue"]?.GetValue<string>();
            if (token is null)
            {
                break;
            }
        }

        Assert.Equal(["a", "b", "c", "d", "e"], seen);
        Assert.Equal(lists, store.Lists);

        var first = await OkAsync(await server.Admin.GetAsync($"{ConfigMaps}?limit=2", ct), ct);
        Assert.Equal(["a", "b"], Names(first));
        await CreateAsync(server, "bb", ct);
        var rest = await OkAsync(await server.Admin.GetAsync(
            $"{ConfigMaps}?limit=10&continue={Uri.EscapeDataString(first["metadata"]!["continue"]!.GetValue<string>())}", ct), ct);
        Assert.Equal(["c", "d", "e"], Names(rest));
        Assert.Equal(first["metadata"]!["resourceVersion"]!.GetValue<string>(), rest["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task Lists_from_the_cache_can_be_repeated()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await InProcessServer.StartAsync();
        await CreateAsync(server, "a", ct);
        await Poll.UntilAsync(() => server.Host.Context.Caches["configmaps"].Get($"{Prefix}default/a") is not null);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(["a"], Names(await OkAsync(await server.Admin.GetAsync($"{ConfigMaps}?resourceVersion=0", ct), ct)));
            Assert.Equal(["a"], Names(await OkAsync(await server.Admin.GetAsync(ConfigMaps, ct), ct)));
        }
    }
}
