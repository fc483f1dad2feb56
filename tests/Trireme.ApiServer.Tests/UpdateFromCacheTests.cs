// Proves updates start from the watch cache's copy without giving up optimistic concurrency: against
// a cache that is up to date a patch is one store txn and no read; against a cache held behind the
// store (its store watch paused by a gate) a patch still merges into the store's current object (the
// txn's compare fails and its read-back is the retry's base), a PUT carrying the stale
// resourceVersion is 409, a PUT carrying the store's newer one succeeds, and a patch that is a no-op
// only against the stale copy is still written. Method: an in-process server over the in-memory
// store wrapped to count reads and to hold back watch events on demand.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Storage;
using Trireme.Testing;

namespace Trireme.ApiServer.Tests;

public sealed class UpdateFromCacheTests
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";
    private const string Key = "/registry/configmaps/default/cm";

    private static StringContent Content(string text, string type = "application/json") => new(text, new MediaTypeHeaderValue(type));

    private static async Task<JsonNode> BodyAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> StoredAsync(IKeyValueStore store, CancellationToken ct) =>
        JsonNode.Parse((await store.GetAsync(Key, ct))!.Value)!;

    /// <summary>Waits until the server's configmap cache holds the key at least at revision.</summary>
    private static Task CacheCaughtUpAsync(InProcessServer server, long revision) =>
        Poll.UntilAsync(() => Task.FromResult(server.Host.Context.Caches["configmaps"].TryGetCurrent(Key, out _, out var rv) && rv >= revision),
            TimeSpan.FromSeconds(30), "configmap cache caught up");

    private static long Rv(JsonNode obj) => long.Parse(obj["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Patch_against_a_current_cache_is_one_txn_and_no_read()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new GatedStore(new MemoryKeyValueStore());
        await using var server = await InProcessServer.StartAsync(store: store);
        var created = await BodyAsync(await server.Admin.PostAsync(ConfigMaps,
            Content("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"1"}}"""), ct), HttpStatusCode.Created, ct);
        await CacheCaughtUpAsync(server, Rv(created));

        var (reads, updates) = (store.Reads, store.Updates);
        var patched = await BodyAsync(await server.Admin.PatchAsync($"{ConfigMaps}/cm",
            Content("""{"data":{"b":"2"}}""", "application/merge-patch+json"), ct), HttpStatusCode.OK, ct);

        Assert.Equal("2", patched["data"]!["b"]!.GetValue<string>());
        Assert.Equal(reads, store.Reads);
        Assert.Equal(updates + 1, store.Updates);
    }

    [Fact]
    public async Task Writes_against_a_stale_cache_keep_optimistic_concurrency()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new GatedStore(new MemoryKeyValueStore());
        await using var server = await InProcessServer.StartAsync(store: store);
        var created = await BodyAsync(await server.Admin.PostAsync(ConfigMaps,
            Content("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"1"}}"""), ct), HttpStatusCode.Created, ct);
        var createdRv = Rv(created);
        await CacheCaughtUpAsync(server, createdRv);

        // Hold the cache at the create while another writer changes the object in the store.
        store.HoldWatches();
        var stored = (await store.GetAsync(Key, ct))!;
        var changed = JsonNode.Parse(stored.Value)!;
        changed["data"]!["a"] = "changed-elsewhere";
        var elsewhere = await store.UpdateAsync(Key, Encoding.UTF8.GetBytes(changed.ToJsonString()), stored.ModRevision, ct);
        Assert.Equal(WriteOutcome.Succeeded, elsewhere.Outcome);

        // A patch merges into the store's object, not the cache's stale copy.
        var patched = await BodyAsync(await server.Admin.PatchAsync($"{ConfigMaps}/cm",
            Content("""{"data":{"b":"2"}}""", "application/merge-patch+json"), ct), HttpStatusCode.OK, ct);
        Assert.Equal("changed-elsewhere", patched["data"]!["a"]!.GetValue<string>());
        Assert.Equal("2", patched["data"]!["b"]!.GetValue<string>());

        // A PUT from a client that saw only the create is a conflict.
        var stalePut = created.DeepClone();
        stalePut["data"]!["c"] = "3";
        var conflict = await BodyAsync(await server.Admin.PutAsync($"{ConfigMaps}/cm", Content(stalePut.ToJsonString()), ct),
            HttpStatusCode.Conflict, ct);
        Assert.Equal("Conflict", conflict["reason"]!.GetValue<string>());

        // A PUT carrying the store's newer resourceVersion succeeds although the cache has not seen it.
        var currentPut = patched.DeepClone();
        currentPut["data"]!["c"] = "3";
        var put = await BodyAsync(await server.Admin.PutAsync($"{ConfigMaps}/cm", Content(currentPut.ToJsonString()), ct), HttpStatusCode.OK, ct);
        Assert.Equal("3", put["data"]!["c"]!.GetValue<string>());

        // Setting a to the value the stale cache still holds is a no-op only against the cache: it must be written.
        var reverted = await BodyAsync(await server.Admin.PatchAsync($"{ConfigMaps}/cm",
            Content("""{"data":{"a":"1"}}""", "application/merge-patch+json"), ct), HttpStatusCode.OK, ct);
        var final = await StoredAsync(store, ct);
        Assert.Equal("1", final["data"]!["a"]!.GetValue<string>());
        Assert.Equal("3", final["data"]!["c"]!.GetValue<string>());
        Assert.True(Rv(reverted) > Rv(put));

        store.ReleaseWatches();
        await CacheCaughtUpAsync(server, Rv(reverted));
    }
}
