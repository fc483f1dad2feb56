using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

/// <summary>
/// The generic REST handler: one code path for every resource in the registry (get, list, watch,
/// create, update, patch, delete, deletecollection) plus the subresources kubectl uses. Bad input
/// and expected outcomes are <see cref="ApiException"/>s rendered as Status objects at the edge.
/// </summary>
public sealed partial class ApiHandler
{
    private readonly ApiServerContext _server;
    private readonly ILogger _log;

    public ApiHandler(ApiServerContext server, ILogger log)
    {
        _server = server;
        _log = log;
    }

    private ResourceRegistry Registry => _server.Registry;
    private ResourceStore Objects => _server.Objects;

    public async Task HandleResourceAsync(HttpContext http, RequestInfo info, UserInfo user, CancellationToken ct)
    {
        var r = Registry.Find(info.Group, info.Version, info.Resource)
            ?? throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        if (info.Subresource is not null && !r.HasSubresource(info.Subresource))
        {
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        }

        var ns = r.Namespaced ? info.Namespace : null;
        if (r.Namespaced && ns is null && info.Name is not null)
        {
            throw new ApiException(404, "NotFound", "the server could not find the requested resource");
        }

        var method = http.Request.Method;
        if (info.Subresource is not null)
        {
            await HandleSubresourceAsync(http, r, ns, info.Name!, info.Subresource, user, ct).ConfigureAwait(false);
            return;
        }

        switch (method)
        {
            case "GET" when IsWatch(http):
                await WatchAsync(http, r, ns, info.Name, ct).ConfigureAwait(false);
                break;
            case "GET" when info.Name is null:
                await ListAsync(http, r, ns, ct).ConfigureAwait(false);
                break;
            case "GET":
                await GetAsync(http, r, ns, info.Name, ct).ConfigureAwait(false);
                break;
            case "POST" when info.Name is null:
                await CreateAsync(http, r, ns, user, ct).ConfigureAwait(false);
                break;
            case "PUT" when info.Name is not null:
                await UpdateAsync(http, r, ns, info.Name, ct).ConfigureAwait(false);
                break;
            case "PATCH" when info.Name is not null:
                await PatchAsync(http, r, ns, info.Name, ct).ConfigureAwait(false);
                break;
            case "DELETE" when info.Name is not null:
                await DeleteAsync(http, r, ns, info.Name, ct).ConfigureAwait(false);
                break;
            case "DELETE":
                await DeleteCollectionAsync(http, r, ns, ct).ConfigureAwait(false);
                break;
            default:
                throw new ApiException(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource");
        }
    }

    public static bool IsWatch(HttpContext http) =>
        http.Request.Query["watch"] is { Count: > 0 } w && (w[0] is "true" or "1");

    private static bool WantsTable(HttpContext http) =>
        http.Request.Headers.Accept.ToString().Contains("as=Table", StringComparison.Ordinal);

    private static bool IsDryRun(HttpContext http) => http.Request.Query["dryRun"] is { Count: > 0 } d && d[0] == "All";

    private DateTimeOffset Now => _server.Clock.GetUtcNow();

    public static async Task WriteJsonAsync(HttpContext http, int status, JsonNode body, CancellationToken ct)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            body.WriteTo(writer);
        }

        http.Response.ContentLength = buffer.WrittenCount;
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
    }

    /// <summary>Reads and decodes the request body: JSON, YAML or the k8s protobuf envelope; 413/415/400 otherwise.</summary>
    private async Task<JsonNode?> ReadBodyAsync(HttpContext http, bool patch, CancellationToken ct)
    {
        var bytes = await ReadBytesAsync(http, _server.Options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
        var contentType = (http.Request.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
        return BodyDecoder.Decode(bytes, contentType, patch);
    }

    public static async Task<byte[]> ReadBytesAsync(HttpContext http, long limit, CancellationToken ct)
    {
        if (http.Request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        if (http.Request.ContentLength is { } length)
        {
            // The common case (kubectl and client-go send Content-Length): read into an exact array.
            var exact = new byte[length];
            var filled = 0;
            while (filled < exact.Length)
            {
                var n = await http.Request.Body.ReadAsync(exact.AsMemory(filled), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw ApiException.BadRequest("the request body ended before its Content-Length");
                }

                filled += n;
            }

            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await http.Request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw TooLarge(limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    private static ApiException TooLarge(long limit) =>
        new(413, "RequestEntityTooLarge", $"Request entity too large: limit is {limit}");

    private static long ParseRevision(string? text, string what)
    {
        if (string.IsNullOrEmpty(text))
        {
            return -1;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw ApiException.BadRequest($"invalid {what}: \"{text}\"");
    }

    private static JsonObject AsObjectBody(JsonNode? body) =>
        body as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");

    /// <summary>apiVersion and kind in a body must name the resource the URL names.</summary>
    private static void CheckKind(ResourceInfo r, JsonObject obj)
    {
        var kind = ObjectFields.Str(obj, "kind");
        var apiVersion = ObjectFields.Str(obj, "apiVersion");
        if (kind is not null && kind != r.Kind)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({r.GroupVersion}) or kind {kind} does not match {r.Kind}");
        }

        if (apiVersion is not null && apiVersion != r.GroupVersion)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({r.GroupVersion})");
        }

        obj["kind"] = r.Kind;
        obj["apiVersion"] = r.GroupVersion;
    }

    private static JsonSerializerOptions JsonOptions => ObjectCodec.Compact;
}
