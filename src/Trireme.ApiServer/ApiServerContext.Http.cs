using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer.Auth;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

// The request edge: public endpoints, authentication, authorization, max-in-flight, dispatch, and
// turning every failure into a Status (bad input → 4xx; store down → 503; bugs → 500 and a log line).
public sealed partial class ApiServerContext
{
    /// <summary>What kube-apiserver v1.32.4 reports; kubectl's dispatcher picks its binary from "minor".</summary>
    public static JsonObject VersionInfo() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.4",
        ["gitCommit"] = "59526cd4867447956156ae3a602fcbac10a2c335",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-04-22T16:03:51Z",
        ["goVersion"] = "go1.23.6",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    /// <summary>Paths anyone may GET without credentials: health for load balancers, version for clients (system:public-info-viewer).</summary>
    private static bool IsPublic(string path) =>
        path is "/version" or "/version/" or "/healthz" or "/livez" or "/readyz"
        || path.StartsWith("/healthz/", StringComparison.Ordinal) || path.StartsWith("/livez/", StringComparison.Ordinal)
        || path.StartsWith("/readyz/", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var path = http.Request.Path.Value ?? "/";
        var metricVerb = http.Request.Method;
        var metricResource = "";
        var mutating = http.Request.Method is not ("GET" or "HEAD" or "OPTIONS");
        var entered = false;
        try
        {
            if (IsPublic(path) && http.Request.Method == "GET")
            {
                await ServePublicAsync(http, path, ct).ConfigureAwait(false);
                return;
            }

            var user = Authenticator.Authenticate(http.Connection.ClientCertificate, http.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null)
                ?? throw new ApiException(401, "Unauthorized", "Unauthorized");
            var info = RequestInfo.Parse(path);
            var watch = ApiHandler.IsWatch(http);
            AuthorizationAttributes attributes;
            if (info is not null)
            {
                var verb = info.Verb(http.Request.Method, watch);
                metricVerb = verb.ToUpperInvariant();
                metricResource = info.Resource;
                var r = Registry.Find(info.Group, info.Version, info.Resource);
                var ns = r?.Namespaced == false && info.Resource == "namespaces" ? info.Name : info.Namespace;
                attributes = new AuthorizationAttributes(verb, info.Group, info.Resource, info.Subresource,
                    r?.Namespaced == false && info.Resource != "namespaces" ? null : ns, info.Name, null);
            }
            else
            {
                attributes = new AuthorizationAttributes(http.Request.Method.ToLowerInvariant(), "", "", null, null, null, path);
            }

            if (!Authorizer.Allows(user, attributes))
            {
                throw new ApiException(403, "Forbidden", RbacAuthorizer.DenialMessage(user, attributes),
                    attributes.IsResource ? new JsonObject { ["name"] = attributes.Name ?? "", ["group"] = attributes.Group, ["kind"] = attributes.Resource } : null);
            }

            var longRunning = watch || info?.Subresource == "log";
            if (!longRunning)
            {
                switch (await EnterAsync(mutating, ct).ConfigureAwait(false))
                {
                    case AdmissionOutcome.Admitted:
                        entered = true;
                        break;
                    case AdmissionOutcome.Canceled:
                        return;
                    default:
                        throw new ApiException(429, "TooManyRequests", "Too many requests, please try again later.",
                            new JsonObject { ["retryAfterSeconds"] = 1 }) { RetryAfterSeconds = 1 };
                }
            }

            if (info is not null)
            {
                await Handler.HandleResourceAsync(http, info, user, ct).ConfigureAwait(false);
            }
            else
            {
                await ServeNonResourceAsync(http, path, ct).ConfigureAwait(false);
            }
        }
        catch (ApiException e)
        {
            await WriteStatusAsync(http, e, ct).ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            await WriteStatusAsync(http, new ApiException(503, "ServiceUnavailable", $"the store is unavailable: {e.Message}"), ct).ConfigureAwait(false);
        }
        catch (StoreCompactedException e)
        {
            await WriteStatusAsync(http, ApiException.Gone(e.Message), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError(e, "request {Method} {Path} failed", http.Request.Method, path);
            await WriteStatusAsync(http, new ApiException(500, "InternalError", $"Internal error occurred: {e.Message}"), ct).ConfigureAwait(false);
        }
        finally
        {
            if (entered)
            {
                Exit(mutating);
            }

            Metrics.Request(metricVerb, metricResource, http.Response.StatusCode);
        }
    }

    private static async Task WriteStatusAsync(HttpContext http, ApiException e, CancellationToken ct)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        if (e.RetryAfterSeconds is { } retry)
        {
            http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        try
        {
            await ApiHandler.WriteJsonAsync(http, e.Code, e.ToStatus(), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ServePublicAsync(HttpContext http, string path, CancellationToken ct)
    {
        if (path.StartsWith("/version", StringComparison.Ordinal))
        {
            await ApiHandler.WriteJsonAsync(http, 200, VersionInfo(), ct).ConfigureAwait(false);
            return;
        }

        var parts = path.Trim('/').Split('/');
        var checks = await HealthChecksAsync(parts[0] == "readyz", ct).ConfigureAwait(false);
        if (parts.Length > 1)
        {
            var name = string.Join('/', parts[1..]);
            var single = checks.FirstOrDefault(c => c.Name == name);
            if (single.Name is null)
            {
                http.Response.StatusCode = 404;
                return;
            }

            await WriteTextAsync(http, single.Ok ? 200 : 500, single.Ok ? "ok" : $"internal server error: {name} failed", ct).ConfigureAwait(false);
            return;
        }

        var healthy = checks.All(c => c.Ok);
        var verbose = http.Request.Query.ContainsKey("verbose");
        if (!verbose && healthy)
        {
            await WriteTextAsync(http, 200, "ok", ct).ConfigureAwait(false);
            return;
        }

        var text = new StringBuilder();
        foreach (var (name, ok) in checks)
        {
            text.Append(ok ? $"[+]{name} ok\n" : $"[-]{name} failed: reason withheld\n");
        }

        text.Append(healthy ? $"{parts[0]} check passed\n" : $"{parts[0]} check failed\n");
        await WriteTextAsync(http, healthy ? 200 : 500, text.ToString(), ct).ConfigureAwait(false);
    }

    /// <summary>The store check bounds its wait so a dead store makes /readyz fail fast instead of hang.</summary>
    private static readonly TimeSpan StoreCheckTimeout = TimeSpan.FromSeconds(2);

    private async Task<List<(string Name, bool Ok)>> HealthChecksAsync(bool readiness, CancellationToken ct)
    {
        var storeOk = true;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(StoreCheckTimeout);
            await Store.CurrentRevisionAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            storeOk = ct.IsCancellationRequested ? throw new OperationCanceledException(ct) : false;
        }

        var checks = new List<(string, bool)> { ("ping", true), ("log", true), ("etcd", storeOk) };
        if (readiness)
        {
            checks.Add(("informer-sync", Caches.Values.All(c => c.Ready.IsCompletedSuccessfully)));
            checks.Add(("poststarthook/bootstrap-controller", Caches.Values.All(c => c.Ready.IsCompletedSuccessfully)));
        }

        return checks;
    }

    private static async Task WriteTextAsync(HttpContext http, int status, string text, CancellationToken ct)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        await http.Response.WriteAsync(text, ct).ConfigureAwait(false);
    }

    private async Task ServeNonResourceAsync(HttpContext http, string path, CancellationToken ct)
    {
        var accept = http.Request.Headers.Accept.ToString();
        switch (path.TrimEnd('/'))
        {
            case "/api" when Discovery.AggregatedVersion(accept) is { } v:
                await WriteAggregatedAsync(http, Discovery.Aggregated(Registry, true, v), v, ct).ConfigureAwait(false);
                return;
            case "/apis" when Discovery.AggregatedVersion(accept) is { } v:
                await WriteAggregatedAsync(http, Discovery.Aggregated(Registry, false, v), v, ct).ConfigureAwait(false);
                return;
            case "/api":
                await ApiHandler.WriteJsonAsync(http, 200, Discovery.ApiVersions(AdvertisedAddress), ct).ConfigureAwait(false);
                return;
            case "/apis":
                await ApiHandler.WriteJsonAsync(http, 200, Discovery.GroupList(Registry), ct).ConfigureAwait(false);
                return;
            case "/api/v1":
                await ApiHandler.WriteJsonAsync(http, 200, Discovery.ResourceList(Registry, ""), ct).ConfigureAwait(false);
                return;
            case "/metrics":
                await WriteTextAsync(http, 200, Metrics.Render(), ct).ConfigureAwait(false);
                return;
            case "/openapi/v3":
                await ApiHandler.WriteJsonAsync(http, 200, OpenApi.Root(), ct).ConfigureAwait(false);
                return;
        }

        var parts = path.Trim('/').Split('/');
        if (parts[0] == "apis" && parts.Length is 2 or 3 && Registry.Groups.Contains(parts[1]) && (parts.Length == 2 || parts[2] == "v1"))
        {
            var doc = parts.Length == 2 ? Discovery.Group(parts[1]) : Discovery.ResourceList(Registry, parts[1]);
            await ApiHandler.WriteJsonAsync(http, 200, doc, ct).ConfigureAwait(false);
            return;
        }

        if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal) && OpenApi.GroupVersion(path["/openapi/v3/".Length..]) is { } gv)
        {
            http.Response.Headers.CacheControl = "public, immutable";
            await ApiHandler.WriteJsonAsync(http, 200, gv, ct).ConfigureAwait(false);
            return;
        }

        throw new ApiException(404, "NotFound", "the server could not find the requested resource");
    }

    /// <summary>The Content-Type must name the discovery type exactly, or kubectl treats the body as a plain document.</summary>
    private static async Task WriteAggregatedAsync(HttpContext http, JsonObject doc, string version, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(doc.ToJsonString(ObjectCodec.Compact));
        http.Response.StatusCode = 200;
        http.Response.ContentType = version == "v2" ? Discovery.AggregatedV2ContentType : Discovery.AggregatedV2Beta1ContentType;
        http.Response.Headers.Vary = "Accept";
        http.Response.ContentLength = bytes.Length;
        await http.Response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
    }
}
