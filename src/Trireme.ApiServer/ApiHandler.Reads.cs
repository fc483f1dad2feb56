using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

// get, list (consistent: from the watch cache once it proves itself current, else the store;
// resourceVersion=0: from the cache as it is; exact or a continue past the cache: the store), watch.
public sealed partial class ApiHandler
{
    /// <summary>kube-apiserver sends a bookmark about once a minute to watchers that allow them.</summary>
    public static readonly TimeSpan BookmarkInterval = TimeSpan.FromSeconds(60);

    /// <summary>Watches without timeoutSeconds end after this (kube-apiserver: --min-request-timeout 1800 s).</summary>
    public static readonly TimeSpan DefaultWatchTimeout = TimeSpan.FromSeconds(1800);

    private async Task GetAsync(HttpContext http, ResourceInfo r, string? ns, string name, CancellationToken ct)
    {
        JsonObject obj;
        if (r.IsVirtual)
        {
            obj = (await _server.ComponentStatusesAsync(ct).ConfigureAwait(false)).FirstOrDefault(o => ObjectFields.Name(o) == name)
                ?? throw ApiException.NotFound(r, name);
        }
        else if (http.Request.Query["resourceVersion"] == "0" && _server.Caches.TryGetValue(r.Plural, out var cache))
        {
            obj = cache.Get(r.Key(ns, name)) ?? throw ApiException.NotFound(r, name);
        }
        else
        {
            obj = (await Objects.MustGetAsync(r, ns, name, ct).ConfigureAwait(false)).Object;
        }

        if (WantsTable(http))
        {
            await WriteJsonAsync(http, 200, TablePrinter.Table(r, [obj], ObjectFields.Str(obj, "metadata", "resourceVersion") ?? "", null, Now), ct)
                .ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(http, 200, obj, ct).ConfigureAwait(false);
    }

    private static WatchFilter Filter(HttpContext http, ResourceInfo r, string? ns, string? name)
    {
        LabelSelector labels;
        FieldSelector fields;
        try
        {
            labels = LabelSelector.Parse(http.Request.Query["labelSelector"]);
            fields = FieldSelector.Parse(http.Request.Query["fieldSelector"]);
        }
        catch (SelectorParseException ex)
        {
            throw ApiException.BadRequest($"unable to parse requirement: {ex.Message}");
        }

        if (fields.FirstUnsupported(r) is { } unsupported)
        {
            throw ApiException.BadRequest($"field label not supported: {unsupported}");
        }

        return new WatchFilter(ns, name, labels, fields);
    }

    /// <summary>Store page size while filling a limited list (selectors may discard many keys).</summary>
    private const long StorePageSize = 500;

    private sealed record ContinueToken(long Rv, string Start);

    private async Task ListAsync(HttpContext http, ResourceInfo r, string? ns, CancellationToken ct)
    {
        var filter = Filter(http, r, ns, null);
        var limit = ParseRevision(http.Request.Query["limit"], "limit");
        var rv = http.Request.Query["resourceVersion"].ToString();
        var continueText = http.Request.Query["continue"].ToString();
        List<JsonObject> items;
        long revision;
        string? next = null;
        if (r.IsVirtual)
        {
            items = await _server.ComponentStatusesAsync(ct).ConfigureAwait(false);
            revision = await Objects.Store.CurrentRevisionAsync(ct).ConfigureAwait(false);
            http.Response.Headers.Append("Warning", "299 - \"v1 ComponentStatus is deprecated in v1.19+\"");
        }
        else if (rv == "0" && continueText.Length == 0 && _server.Caches.TryGetValue(r.Plural, out var cache))
        {
            await cache.Ready.WaitAsync(ct).ConfigureAwait(false);
            (items, revision) = cache.List(filter);
        }
        else if (rv.Length == 0 && _server.Caches.TryGetValue(r.Plural, out var consistent)
                 && await ConsistentListFromCacheAsync(consistent, filter, limit, continueText, ct).ConfigureAwait(false) is { } page)
        {
            (items, revision) = (page.Items, page.Revision);
            next = page.NextKey is { } nextKey ? EncodeContinue(new ContinueToken(page.Revision, nextKey)) : null;
        }
        else
        {
            (items, revision, next) = await ListFromStoreAsync(r, ns, filter, limit, continueText, ParseRevision(rv, "resourceVersion"), ct)
                .ConfigureAwait(false);
        }

        var rvText = revision.ToString(CultureInfo.InvariantCulture);
        if (WantsTable(http))
        {
            await WriteJsonAsync(http, 200, TablePrinter.Table(r, items, rvText, next, Now), ct).ConfigureAwait(false);
            return;
        }

        await WriteListAsync(http, r, rvText, next, items, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a list without putting its items into a new JsonArray: items from the watch cache are
    /// shared by every reader, and adding a node to an array makes the array its parent.
    /// </summary>
    private static async Task WriteListAsync(HttpContext http, ResourceInfo r, string resourceVersion, string? continueToken,
        List<JsonObject> items, CancellationToken ct)
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kind"u8, r.ListKind);
            writer.WriteString("apiVersion"u8, r.GroupVersion);
            writer.WriteStartObject("metadata"u8);
            writer.WriteString("resourceVersion"u8, resourceVersion);
            if (continueToken is not null)
            {
                writer.WriteString("continue"u8, continueToken);
            }

            writer.WriteEndObject();
            writer.WriteStartArray("items"u8);
            foreach (var item in items)
            {
                item.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        http.Response.ContentLength = buffer.WrittenCount;
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A list with resourceVersion unset from the watch cache once it has proved itself current
    /// (<see cref="WatchCache.ConsistentPageAsync"/>); a continue page from it only while it still holds
    /// the token's revision. Null sends the request to the store.
    /// </summary>
    private static async Task<CachePage?> ConsistentListFromCacheAsync(WatchCache cache, WatchFilter filter, long limit, string continueText,
        CancellationToken ct)
    {
        if (continueText.Length > 0)
        {
            var token = DecodeContinue(continueText);
            return cache.PageAt(token.Rv, filter, token.Start, limit);
        }

        return await cache.ConsistentPageAsync(filter, limit, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A linearizable list straight from the store, paged by limit/continue. The continue token pins
    /// the revision of the first page (as etcd3 storage does), so pages are one consistent snapshot;
    /// once that revision is compacted the token answers 410.
    /// </summary>
    private async Task<(List<JsonObject>, long, string?)> ListFromStoreAsync(ResourceInfo r, string? ns, WatchFilter filter,
        long limit, string continueText, long exactRevision, CancellationToken ct)
    {
        var prefix = r.ListPrefix(ns);
        var start = "";
        long revision = exactRevision > 0 ? exactRevision : 0;
        if (continueText.Length > 0)
        {
            var token = DecodeContinue(continueText);
            (revision, start) = (token.Rv, token.Start);
        }

        var items = new List<JsonObject>();
        string? next = null;
        try
        {
            while (next is null)
            {
                var page = await Objects.Store.ListAsync(prefix, start, revision, limit > 0 ? StorePageSize : 0, ct).ConfigureAwait(false);
                revision = page.Revision;
                foreach (var kv in page.Items)
                {
                    if (limit > 0 && items.Count == limit)
                    {
                        // The token resumes at the first key not returned, at the same revision.
                        next = EncodeContinue(new ContinueToken(revision, kv.Key));
                        break;
                    }

                    var obj = ObjectCodec.Decode(kv);
                    if (filter.Labels.Matches(obj) && filter.Fields.Matches(r, obj))
                    {
                        items.Add(obj);
                    }
                }

                if (!page.More || page.Items.Count == 0)
                {
                    break;
                }

                start = page.Items[^1].Key + "\0";
            }
        }
        catch (StoreCompactedException)
        {
            throw new ApiException(410, "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
        }

        return (items, revision, next);
    }

    private static string EncodeContinue(ContinueToken token) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new JsonObject { ["rv"] = token.Rv, ["start"] = token.Start })));

    private static ContinueToken DecodeContinue(string text)
    {
        try
        {
            var node = JsonNode.Parse(Convert.FromBase64String(text));
            return new ContinueToken(ObjectFields.Int(node, "rv") ?? throw new FormatException(), ObjectFields.Str(node, "start") ?? "");
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            throw ApiException.BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
        }
    }

    private async Task WatchAsync(HttpContext http, ResourceInfo r, string? ns, string? name, CancellationToken ct)
    {
        if (!_server.Caches.TryGetValue(r.Plural, out var cache))
        {
            throw new ApiException(405, "MethodNotAllowed", $"watch is not supported on {r.Plural}");
        }

        var filter = Filter(http, r, ns, name);
        var rv = ParseRevision(http.Request.Query["resourceVersion"], "resourceVersion");
        var timeout = http.Request.Query["timeoutSeconds"] is { Count: > 0 } t && int.TryParse(t[0], CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : DefaultWatchTimeout;
        var bookmarks = http.Request.Query["allowWatchBookmarks"] == "true";
        var table = WantsTable(http);
        await cache.Ready.WaitAsync(ct).ConfigureAwait(false);

        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lifetime.CancelAfter(timeout);
        var events = cache.Watch(filter, Math.Max(rv, 0), lifetime.Token);
        _server.Metrics.WatchStarted(r.Plural);
        try
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            await http.Response.StartAsync(ct).ConfigureAwait(false);
            await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
            await StreamEventsAsync(http, r, cache, events, table, bookmarks, lifetime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Timeout or client gone: ending the chunked stream is how a watch finishes.
        }
        finally
        {
            _server.Metrics.WatchEnded(r.Plural);
        }
    }

    private async Task StreamEventsAsync(HttpContext http, ResourceInfo r, WatchCache cache,
        System.Threading.Channels.ChannelReader<CachedEvent> events, bool table, bool bookmarks, CancellationToken ct)
    {
        while (true)
        {
            var waitForData = events.WaitToReadAsync(ct).AsTask();
            if (bookmarks)
            {
                var idle = Task.Delay(BookmarkInterval, ct);
                if (await Task.WhenAny(waitForData, idle).ConfigureAwait(false) == idle)
                {
                    var bookmark = new JsonObject
                    {
                        ["kind"] = r.Kind, ["apiVersion"] = r.GroupVersion,
                        ["metadata"] = new JsonObject { ["resourceVersion"] = cache.Revision.ToString(CultureInfo.InvariantCulture) },
                    };
                    await WriteEventAsync(http, "BOOKMARK", bookmark, ct).ConfigureAwait(false);
                    continue;
                }
            }

            if (!await waitForData.ConfigureAwait(false))
            {
                return;
            }

            while (events.TryRead(out var e))
            {
                var type = e.Type switch
                {
                    WatchEventType.Added => "ADDED",
                    WatchEventType.Modified => "MODIFIED",
                    WatchEventType.Deleted => "DELETED",
                    _ => "BOOKMARK",
                };
                JsonNode obj = table
                    ? TablePrinter.Table(r, [e.Object], e.Revision.ToString(CultureInfo.InvariantCulture), null, Now)
                    : e.Object;
                await WriteEventAsync(http, type, obj, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One watch event line, written from the shared cached object without copying it.</summary>
    private static async Task WriteEventAsync(HttpContext http, string type, JsonNode obj, CancellationToken ct)
    {
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WritePropertyName("object");
            obj.WriteTo(writer);
            writer.WriteEndObject();
        }

        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
