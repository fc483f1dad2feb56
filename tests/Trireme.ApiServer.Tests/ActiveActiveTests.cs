// Proves two API servers over one store are active-active: an object written through A is read
// through B at once, a watch opened on B receives A's write, and both servers appear in the
// kubernetes Endpoints (the lease reconciler) while a stopped server drops out. Also proves the
// max-in-flight filter answers 429 with Retry-After, and bootstrap tokens authenticate from their
// kube-system Secret until they expire. Method: two in-process hosts sharing one in-memory store.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Storage;
using Trireme.Testing;

namespace Trireme.ApiServer.Tests;

public sealed class ActiveActiveTests
{
    private static StringContent Json(string text) => new(text, new MediaTypeHeaderValue("application/json"));

    [Fact]
    public async Task Write_through_one_server_is_read_and_watched_through_the_other()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new MemoryKeyValueStore();
        await using var a = await InProcessServer.StartAsync(store: store);
        await using var b = await InProcessServer.StartAsync(store: new SharedStore(store));
        using var watch = await b.Admin.GetAsync("/api/v1/namespaces/default/configmaps?watch=true", HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        var created = await a.Admin.PostAsync("/api/v1/namespaces/default/configmaps",
            Json("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"k":"v"}}"""), ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var read = JsonNode.Parse(await b.Admin.GetStringAsync("/api/v1/namespaces/default/configmaps/shared", ct))!;
        Assert.Equal("v", read["data"]!["k"]!.GetValue<string>());
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync(ct));
        var line = await reader.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);
        var e = JsonNode.Parse(line!)!;
        Assert.Equal("ADDED", e["type"]!.GetValue<string>());
        Assert.Equal("shared", e["object"]!["metadata"]!["name"]!.GetValue<string>());

        string Endpoints() => b.Admin.GetStringAsync("/api/v1/namespaces/default/endpoints/kubernetes", ct).Result;
        await Poll.UntilAsync(() => Endpoints().Contains($"\"port\":{a.Host.Port}", StringComparison.Ordinal)
            && Endpoints().Contains($"\"port\":{b.Host.Port}", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "both servers in Endpoints");
        var aPort = a.Host.Port;
        await a.Host.DisposeAsync();
        await Poll.UntilAsync(() => !Endpoints().Contains($"\"port\":{aPort}", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "stopped server leaves Endpoints");
    }

    [Fact]
    public async Task Requests_over_the_in_flight_limit_get_429_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await InProcessServer.StartAsync(o => (o.MaxRequestsInflight, o.MaxRequestsQueued) = (0, 0));
        var response = await server.Admin.GetAsync("/api/v1/namespaces", ct);
        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("TooManyRequests", JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bootstrap_token_authenticates_as_system_bootstrap_until_expired()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await InProcessServer.StartAsync();
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        var secret = $$$"""
            {"apiVersion":"v1","kind":"Secret","type":"bootstrap.kubernetes.io/token","metadata":{"name":"bootstrap-token-abcdef"},
             "data":{"token-id":"{{{B64("abcdef")}}}","token-secret":"{{{B64("0123456789abcdef")}}}","usage-bootstrap-authentication":"{{{B64("true")}}}",
                     "expiration":"{{{B64(DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture))}}}"}}
            """;
        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsync("/api/v1/namespaces/kube-system/secrets", Json(secret), ct)).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/apis/certificates.k8s.io/v1/certificatesigningrequests")
        {
            Content = Json("""{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"node-csr-1"},"spec":{"request":"AA==","signerName":"kubernetes.io/kube-apiserver-client-kubelet","usages":["client auth"]}}"""),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "abcdef.0123456789abcdef");
        await Poll.UntilAsync(() => server.Host.Context.Caches["secrets"].Get("/registry/secrets/kube-system/bootstrap-token-abcdef") is not null);
        var response = await server.Anonymous.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        Assert.Equal("system:bootstrap:abcdef", JsonNode.Parse(body)!["spec"]!["username"]!.GetValue<string>());

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "abcdef.ffffffffffffffff");
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Anonymous.SendAsync(wrong, ct)).StatusCode);
    }

    /// <summary>A second handle on one store whose disposal leaves the store to its owner.</summary>
    private sealed class SharedStore(IKeyValueStore inner) : IKeyValueStore
    {
        public ValueTask<KeyValue?> GetAsync(string key, CancellationToken ct) => inner.GetAsync(key, ct);
        public ValueTask<RangeResult> ListAsync(string prefix, string startKey, long revision, long limit, CancellationToken ct) => inner.ListAsync(prefix, startKey, revision, limit, ct);
        public ValueTask<WriteResult> CreateAsync(string key, byte[] value, CancellationToken ct) => inner.CreateAsync(key, value, ct);
        public ValueTask<WriteResult> UpdateAsync(string key, byte[] value, long expectedModRevision, CancellationToken ct) => inner.UpdateAsync(key, value, expectedModRevision, ct);
        public ValueTask<WriteResult> DeleteAsync(string key, long expectedModRevision, CancellationToken ct) => inner.DeleteAsync(key, expectedModRevision, ct);
        public IAsyncEnumerable<StoreEvent> WatchAsync(string prefix, long fromRevision, CancellationToken ct) => inner.WatchAsync(prefix, fromRevision, ct);
        public ValueTask<long> CurrentRevisionAsync(CancellationToken ct) => inner.CurrentRevisionAsync(ct);
        public ValueTask<PrefixChanges> ChangesSinceAsync(string prefix, long sinceRevision, CancellationToken ct) => inner.ChangesSinceAsync(prefix, sinceRevision, ct);
        public ValueTask CompactAsync(long revision, CancellationToken ct) => inner.CompactAsync(revision, ct);
        public ValueTask<IReadOnlyList<StoreMemberHealth>> HealthAsync(CancellationToken ct) => inner.HealthAsync(ct);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
