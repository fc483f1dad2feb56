using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

// create, update, patch, delete, deletecollection.
public sealed partial class ApiHandler
{
    /// <summary>A patch without a resourceVersion precondition retries on conflict, as kube-apiserver's patcher does.</summary>
    private const int PatchConflictRetries = 5;

    /// <summary>generateName suffix alphabet and length (apimachinery's SimpleNameGenerator: no vowels, no confusables).</summary>
    private const string NameSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    private const int NameSuffixLength = 5;

    /// <summary>Kinds whose status a create may not set (PrepareForCreate resets it).</summary>
    private static readonly HashSet<string> StatusResetOnCreate = ["deployments", "replicasets", "daemonsets", "services", "pods", "namespaces", "certificatesigningrequests"];

    /// <summary>Kinds with a /status subresource: their main endpoint ignores status changes.</summary>
    private static bool HasStatus(ResourceInfo r) => r.HasSubresource("status");

    private async Task CreateAsync(HttpContext http, ResourceInfo r, string? ns, UserInfo user, CancellationToken ct)
    {
        if (r.IsVirtual)
        {
            throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }

        var obj = AsObjectBody(await ReadBodyAsync(http, false, ct).ConfigureAwait(false));
        CheckKind(r, obj);
        var meta = ObjectFields.Metadata(obj);
        if (r.Namespaced)
        {
            var bodyNs = ObjectFields.Str(meta, "namespace");
            if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            meta["namespace"] = ns;
            await RequireNamespaceAsync(r, ns!, ObjectFields.Name(obj), ct).ConfigureAwait(false);
        }
        else
        {
            meta.Remove("namespace");
        }

        if (string.IsNullOrEmpty(ObjectFields.Str(meta, "name")) && ObjectFields.Str(meta, "generateName") is { Length: > 0 } generate)
        {
            meta["name"] = generate + RandomSuffix();
        }

        PrepareForCreate(r, obj, user);
        Defaulting.Apply(r, obj);
        var causes = Validation.Validate(r, obj);
        if (causes.Count > 0)
        {
            throw ApiException.Invalid(r, ObjectFields.Name(obj), causes);
        }

        var dryRun = IsDryRun(http);
        if (r.Plural == "services")
        {
            await _server.Allocator.AllocateAsync(r, obj, dryRun, ct).ConfigureAwait(false);
        }

        JsonObject created;
        if (dryRun)
        {
            created = obj;
        }
        else
        {
            try
            {
                created = await Objects.CreateAsync(r, obj, ct).ConfigureAwait(false);
            }
            catch (ApiException) when (r.Plural == "services")
            {
                await _server.Allocator.ReleaseAsync(obj, ct).ConfigureAwait(false);
                throw;
            }
        }

        await WriteJsonAsync(http, 201, created, ct).ConfigureAwait(false);
    }

    private static string RandomSuffix() =>
        string.Create(NameSuffixLength, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = NameSuffixAlphabet[Random.Shared.Next(NameSuffixAlphabet.Length)];
            }
        });

    private void PrepareForCreate(ResourceInfo r, JsonObject obj, UserInfo user)
    {
        var meta = ObjectFields.Metadata(obj);
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = ObjectCodec.Rfc3339(Now);
        foreach (var field in new[] { "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields" })
        {
            meta.Remove(field);
        }

        if (r.Group == "apps")
        {
            meta["generation"] = 1;
        }

        if (StatusResetOnCreate.Contains(r.Plural))
        {
            obj.Remove("status");
        }

        if (r.Plural == "certificatesigningrequests")
        {
            // The requestor is whoever posted it, never what the body claims (kube-apiserver's csr strategy).
            var spec = Defaulting.Ensure(obj, "spec");
            spec["username"] = user.Name;
            spec["groups"] = new JsonArray(user.Groups.Select(g => (JsonNode)JsonValue.Create(g)!).ToArray());
            spec["uid"] = user.Uid;
        }
    }

    private async Task RequireNamespaceAsync(ResourceInfo r, string ns, string name, CancellationToken ct)
    {
        // From the namespace cache, as kube-apiserver's NamespaceLifecycle admission does; a namespace
        // the cache has not seen yet (just created through another server) is looked up in the store.
        var namespaces = Registry.Find("", "v1", "namespaces")!;
        var found = _server.Caches["namespaces"].TryGetCurrent(namespaces.Key(null, ns), out var cached, out _)
            ? cached
            : (await Objects.GetAsync(namespaces, null, ns, ct).ConfigureAwait(false))?.Object ?? throw ApiException.NotFound(namespaces, ns);
        if (ObjectFields.Str(found, "metadata", "deletionTimestamp") is not null && r.Plural != "events")
        {
            throw new ApiException(403, "Forbidden",
                $"{r.QualifiedPlural} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                ApiStatus.Details(r, name));
        }
    }

    private async Task UpdateAsync(HttpContext http, ResourceInfo r, string? ns, string name, CancellationToken ct)
    {
        var body = AsObjectBody(await ReadBodyAsync(http, false, ct).ConfigureAwait(false));
        CheckKind(r, body);
        CheckIdentity(r, ns, name, body);
        var precondition = ParseRevision(ObjectFields.Str(body, "metadata", "resourceVersion"), "resourceVersion");
        var updated = await UpdateLoopAsync(r, ns, name, precondition, IsDryRun(http), _ => body, UpdateScope.Main, ct).ConfigureAwait(false);
        await WriteJsonAsync(http, 200, updated, ct).ConfigureAwait(false);
    }

    private static void CheckIdentity(ResourceInfo r, string? ns, string name, JsonObject body)
    {
        var bodyName = ObjectFields.Str(body, "metadata", "name");
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
        {
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        var bodyNs = ObjectFields.Str(body, "metadata", "namespace");
        if (r.Namespaced && !string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }
    }

    private async Task PatchAsync(HttpContext http, ResourceInfo r, string? ns, string name, CancellationToken ct)
    {
        var patch = await ReadPatchAsync(http, ct).ConfigureAwait(false);
        var updated = await UpdateLoopAsync(r, ns, name, -1, IsDryRun(http), patch, UpdateScope.Main, ct).ConfigureAwait(false);
        await WriteJsonAsync(http, 200, updated, ct).ConfigureAwait(false);
    }

    /// <summary>Reads a patch body and returns the function that applies it to the current object.</summary>
    private async Task<Func<JsonObject, JsonObject>> ReadPatchAsync(HttpContext http, CancellationToken ct)
    {
        var contentType = (http.Request.ContentType ?? "").Split(';')[0].Trim();
        var body = await ReadBodyAsync(http, true, ct).ConfigureAwait(false);
        return contentType switch
        {
            "application/json-patch+json" => current => Patches.JsonPatch(current, body),
            "application/merge-patch+json" => current => Patches.MergePatch(current, body),
            "application/strategic-merge-patch+json" => current => StrategicMergePatch.Apply(current, body),
            "application/apply-patch+yaml" => current => StrategicMergePatch.Apply(current, body),
            _ => throw new ApiException(415, "UnsupportedMediaType",
                $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"),
        };
    }

    public enum UpdateScope { Main, Status, Finalize }

    /// <summary>
    /// Read-modify-write with optimistic concurrency. precondition &gt; 0 pins the resourceVersion the
    /// client saw (409 when stale); otherwise conflicts from concurrent writers are retried.
    /// The first attempt starts from the watch cache's copy, as kube-apiserver's GuaranteedUpdate
    /// does, so a write is one store txn instead of a read and a txn: if the copy was stale the txn's
    /// compare fails and its failure branch returns the current object, which the next attempt uses.
    /// A no-op against a cached copy is confirmed against the store before it is believed.
    /// </summary>
    private async Task<JsonObject> UpdateLoopAsync(ResourceInfo r, string? ns, string name, long precondition, bool dryRun,
        Func<JsonObject, JsonObject> mutate, UpdateScope scope, CancellationToken ct)
    {
        var (current, modRevision, fromCache) = await CurrentForUpdateAsync(r, ns, name, precondition, ct).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            if (precondition > 0 && precondition != modRevision)
            {
                throw ApiException.Conflict(r, name);
            }

            var candidate = mutate(current.DeepClone().AsObject());
            CheckIdentity(r, ns, name, candidate);
            var next = MergeForUpdate(r, current, candidate, scope);
            CommitOutcome outcome;
            try
            {
                outcome = await CommitUpdateAsync(r, ns, name, current, next, modRevision, fromCache, dryRun, ct).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Reason == "Conflict" && precondition <= 0 && attempt < PatchConflictRetries)
            {
                outcome = default; // a conditional delete lost a race: read again
            }

            if (outcome.Result is { } result)
            {
                return result;
            }

            if (attempt >= PatchConflictRetries && precondition <= 0)
            {
                throw ApiException.Conflict(r, name);
            }

            if (outcome.Current is { } fresh)
            {
                (current, modRevision, fromCache) = (fresh, outcome.ModRevision, false);
            }
            else
            {
                (current, modRevision) = await Objects.MustGetAsync(r, ns, name, ct).ConfigureAwait(false);
                fromCache = false;
            }
        }
    }

    /// <summary>
    /// The object an update starts from: the watch cache's copy when it has one at least as new as
    /// the client's precondition (older means the cache lags this write's predecessor: read the
    /// store), else a store read. Services always read the store: their updates allocate IPs and
    /// ports, which a retry from a stale copy could leak.
    /// </summary>
    private async Task<(JsonObject Object, long ModRevision, bool FromCache)> CurrentForUpdateAsync(ResourceInfo r, string? ns, string name,
        long precondition, CancellationToken ct)
    {
        if (r.Plural != "services" && _server.Caches.TryGetValue(r.Plural, out var cache)
            && cache.TryGetCurrent(r.Key(ns, name), out var cached, out var cachedRevision)
            && (precondition <= 0 || precondition <= cachedRevision))
        {
            return (cached, cachedRevision, true);
        }

        var (obj, modRevision) = await Objects.MustGetAsync(r, ns, name, ct).ConfigureAwait(false);
        return (obj, modRevision, false);
    }

    /// <summary>
    /// How one update attempt ended: Result when it is finished (written, a confirmed no-op, a
    /// completed deletion, a dry run); else Current is the store's object to retry from, or null
    /// when the caller must read the store again.
    /// </summary>
    private readonly record struct CommitOutcome(JsonObject? Result, JsonObject? Current, long ModRevision);

    /// <summary>What an update may change: identity and deletion state are kept; status follows its endpoint.</summary>
    private static JsonObject MergeForUpdate(ResourceInfo r, JsonObject current, JsonObject candidate, UpdateScope scope)
    {
        JsonObject next;
        if (scope == UpdateScope.Status)
        {
            next = current.DeepClone().AsObject();
            next["status"] = candidate["status"]?.DeepClone();
            if (r.Plural == "nodes" || r.Plural == "pods" || r.Plural == "certificatesigningrequests")
            {
                // Status writers (kubelet, signer) also maintain annotations/labels through this endpoint.
                ObjectFields.Metadata(next)["labels"] = ObjectFields.Obj(candidate, "metadata", "labels")?.DeepClone();
                ObjectFields.Metadata(next)["annotations"] = ObjectFields.Obj(candidate, "metadata", "annotations")?.DeepClone();
            }
        }
        else if (scope == UpdateScope.Finalize)
        {
            next = current.DeepClone().AsObject();
            Defaulting.Ensure(next, "spec")["finalizers"] = ObjectFields.Arr(candidate, "spec", "finalizers")?.DeepClone() ?? new JsonArray();
        }
        else
        {
            next = candidate;
            next["kind"] = r.Kind;
            next["apiVersion"] = r.GroupVersion;
            if (HasStatus(r) && r.Plural != "namespaces")
            {
                if (current["status"] is { } status)
                {
                    next["status"] = status.DeepClone();
                }
                else
                {
                    next.Remove("status");
                }
            }
        }

        var meta = ObjectFields.Metadata(next);
        var old = ObjectFields.Metadata(current);
        foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "name", "generation" })
        {
            if (old[field] is { } v)
            {
                meta[field] = v.DeepClone();
            }
            else
            {
                meta.Remove(field);
            }
        }

        meta.Remove("selfLink");
        if (r.Group == "apps" && scope == UpdateScope.Main && !JsonNode.DeepEquals(current["spec"], next["spec"]))
        {
            meta["generation"] = (ObjectFields.Int(old, "generation") ?? 0) + 1;
        }

        return next;
    }

    private async Task<CommitOutcome> CommitUpdateAsync(ResourceInfo r, string? ns, string name, JsonObject current, JsonObject next,
        long modRevision, bool fromCache, bool dryRun, CancellationToken ct)
    {
        if (r.Plural == "services")
        {
            CarryServiceAllocations(current, next);
            await _server.Allocator.AllocateAsync(r, next, dryRun, ct).ConfigureAwait(false);
        }

        Defaulting.Apply(r, next);
        var causes = Validation.Validate(r, next);
        if (causes.Count > 0)
        {
            throw ApiException.Invalid(r, name, causes);
        }

        if (dryRun)
        {
            return new CommitOutcome(next, null, 0);
        }

        // The last finalizer removed from an object being deleted completes the deletion.
        if (ObjectFields.Str(next, "metadata", "deletionTimestamp") is not null && !HasFinalizers(r, next) && !IsGracefulPod(r, next))
        {
            await Objects.DeleteAsync(r, ns, name, modRevision, ct).ConfigureAwait(false);
            await AfterDeleteAsync(r, next, ct).ConfigureAwait(false);
            return new CommitOutcome(next, null, 0);
        }

        var previous = ObjectFields.Str(current, "metadata", "resourceVersion");
        ObjectFields.Metadata(next)["resourceVersion"] = previous;
        if (JsonNode.DeepEquals(current, next))
        {
            // No-op updates do not bump the revision, as in kube-apiserver; a cached copy may be stale, though.
            return fromCache ? default : new CommitOutcome(current, null, 0);
        }

        var attempt = await Objects.TryUpdateAsync(r, next, modRevision, ct).ConfigureAwait(false);
        return attempt.Succeeded
            ? new CommitOutcome(attempt.Object, null, 0)
            : new CommitOutcome(null, attempt.Object, attempt.ModRevision);
    }

    private static bool IsGracefulPod(ResourceInfo r, JsonObject obj) =>
        r.Plural == "pods" && ObjectFields.Int(obj, "metadata", "deletionGracePeriodSeconds") is > 0;

    private static bool HasFinalizers(ResourceInfo r, JsonObject obj) =>
        (ObjectFields.Arr(obj, "metadata", "finalizers")?.Count ?? 0) > 0
        || (r.Plural == "namespaces" && (ObjectFields.Arr(obj, "spec", "finalizers")?.Count ?? 0) > 0);

    /// <summary>clusterIP is immutable and node ports stay with their port across updates.</summary>
    private static void CarryServiceAllocations(JsonObject current, JsonObject next)
    {
        var spec = Defaulting.Ensure(next, "spec");
        foreach (var field in new[] { "clusterIP", "clusterIPs" })
        {
            if (current["spec"]?[field] is { } v && spec[field] is null)
            {
                spec[field] = v.DeepClone();
            }
        }

        var oldPorts = ObjectFields.Arr(current, "spec", "ports") ?? [];
        foreach (var port in (ObjectFields.Arr(spec, "ports") ?? []).OfType<JsonObject>())
        {
            if (port["nodePort"] is null)
            {
                var match = oldPorts.FirstOrDefault(p => ObjectFields.Int(p, "port") == ObjectFields.Int(port, "port"));
                if (ObjectFields.Int(match, "nodePort") is > 0 and var np)
                {
                    port["nodePort"] = np;
                }
            }
        }
    }

    private async Task DeleteAsync(HttpContext http, ResourceInfo r, string? ns, string name, CancellationToken ct)
    {
        var options = await ReadDeleteOptionsAsync(http, ct).ConfigureAwait(false);
        var result = await DeleteObjectAsync(r, ns, name, options, IsDryRun(http), ct).ConfigureAwait(false);
        await WriteJsonAsync(http, 200, result, ct).ConfigureAwait(false);
    }

    private async Task<JsonObject?> ReadDeleteOptionsAsync(HttpContext http, CancellationToken ct)
    {
        JsonObject options = new();
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            var bytes = await ReadBytesAsync(http, _server.Options.MaxRequestBodyBytes, ct).ConfigureAwait(false);
            if (bytes.Length > 0)
            {
                var contentType = (http.Request.ContentType ?? "application/json").Split(';')[0].Trim();
                options = BodyDecoder.Decode(bytes, contentType, false) as JsonObject ?? throw ApiException.BadRequest("DeleteOptions must be an object");
            }
        }

        if (http.Request.Query["gracePeriodSeconds"] is { Count: > 0 } g && long.TryParse(g[0], CultureInfo.InvariantCulture, out var grace))
        {
            options["gracePeriodSeconds"] = grace;
        }

        if (http.Request.Query["propagationPolicy"] is { Count: > 0 } p)
        {
            options["propagationPolicy"] = p[0];
        }

        return options;
    }

    /// <summary>
    /// Deletion as kube-apiserver's registry does it: preconditions; objects with finalizers (and the
    /// finalizer an Orphan/Foreground propagation adds for the garbage collector) or a pod bound to a
    /// node with a grace period get a deletionTimestamp and stay until finalized or the agent
    /// confirms; everything else is removed at once.
    /// </summary>
    internal async Task<JsonObject> DeleteObjectAsync(ResourceInfo r, string? ns, string name, JsonObject? options, bool dryRun, CancellationToken ct)
    {
        if (r.IsVirtual)
        {
            throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }

        for (var attempt = 0; ; attempt++)
        {
            var (current, modRevision) = await Objects.MustGetAsync(r, ns, name, ct).ConfigureAwait(false);
            CheckPreconditions(r, name, current, ObjectFields.Obj(options, "preconditions"));
            var next = current.DeepClone().AsObject();
            var meta = ObjectFields.Metadata(next);
            var policy = ObjectFields.Str(options, "propagationPolicy")
                ?? (ObjectFields.Bool(options, "orphanDependents") ? "Orphan" : null);
            var finalizers = ObjectFields.Arr(meta, "finalizers") ?? new JsonArray();
            var gcFinalizer = policy switch { "Orphan" => "orphan", "Foreground" => "foregroundDeletion", _ => null };
            if (gcFinalizer is not null && finalizers.All(f => f?.ToString() != gcFinalizer))
            {
                finalizers.Add(gcFinalizer);
            }

            if (finalizers.Count > 0)
            {
                meta["finalizers"] = finalizers.DeepClone();
            }

            var graceSeconds = ObjectFields.Int(options, "gracePeriodSeconds")
                ?? ObjectFields.Int(current, "spec", "terminationGracePeriodSeconds") ?? 30;
            var graceful = r.Plural == "pods" && graceSeconds > 0 && !string.IsNullOrEmpty(ObjectFields.Str(current, "spec", "nodeName"))
                && ObjectFields.Str(current, "status", "phase") is not ("Succeeded" or "Failed");
            var pending = finalizers.Count > 0 || graceful || (r.Plural == "namespaces" && HasFinalizers(r, current));
            if (dryRun)
            {
                return next;
            }

            try
            {
                if (pending)
                {
                    if (meta["deletionTimestamp"] is null)
                    {
                        meta["deletionTimestamp"] = ObjectCodec.Rfc3339(Now.AddSeconds(graceful ? graceSeconds : 0));
                        meta["deletionGracePeriodSeconds"] = graceful ? graceSeconds : 0;
                    }
                    else if (graceful && ObjectFields.Int(meta, "deletionGracePeriodSeconds") is { } existing && graceSeconds < existing)
                    {
                        // A shorter grace period may always replace a longer one (kubectl delete --grace-period=0 --force).
                        meta["deletionTimestamp"] = ObjectCodec.Rfc3339(Now.AddSeconds(graceSeconds));
                        meta["deletionGracePeriodSeconds"] = graceSeconds;
                    }

                    if (r.Plural == "namespaces")
                    {
                        Defaulting.Ensure(next, "status")["phase"] = "Terminating";
                    }

                    return JsonNode.DeepEquals(current, next) ? current : await Objects.UpdateAsync(r, next, modRevision, ct).ConfigureAwait(false);
                }

                await Objects.DeleteAsync(r, ns, name, modRevision, ct).ConfigureAwait(false);
                await AfterDeleteAsync(r, current, ct).ConfigureAwait(false);
                return current;
            }
            catch (ApiException e) when (e.Reason == "Conflict" && attempt < PatchConflictRetries)
            {
            }
        }
    }

    private static void CheckPreconditions(ResourceInfo r, string name, JsonObject current, JsonObject? preconditions)
    {
        if (ObjectFields.Str(preconditions, "uid") is { Length: > 0 } uid && uid != ObjectFields.Str(current, "metadata", "uid"))
        {
            throw new ApiException(409, "Conflict",
                $"Operation cannot be fulfilled on {r.QualifiedPlural} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {ObjectFields.Str(current, "metadata", "uid")}",
                ApiStatus.Details(r, name));
        }

        if (ObjectFields.Str(preconditions, "resourceVersion") is { Length: > 0 } rv && rv != ObjectFields.Str(current, "metadata", "resourceVersion"))
        {
            throw new ApiException(409, "Conflict",
                $"Operation cannot be fulfilled on {r.QualifiedPlural} \"{name}\": Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {ObjectFields.Str(current, "metadata", "resourceVersion")}",
                ApiStatus.Details(r, name));
        }
    }

    private async Task AfterDeleteAsync(ResourceInfo r, JsonObject deleted, CancellationToken ct)
    {
        if (r.Plural == "services")
        {
            await _server.Allocator.ReleaseAsync(deleted, ct).ConfigureAwait(false);
        }
    }

    private async Task DeleteCollectionAsync(HttpContext http, ResourceInfo r, string? ns, CancellationToken ct)
    {
        if (!r.Verbs.Contains("deletecollection"))
        {
            throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }

        var options = await ReadDeleteOptionsAsync(http, ct).ConfigureAwait(false);
        var filter = Filter(http, r, ns, null);
        var (items, revision, _) = await ListFromStoreAsync(r, ns, filter, 0, "", -1, ct).ConfigureAwait(false);
        var deleted = new JsonArray();
        foreach (var item in items)
        {
            try
            {
                deleted.Add(await DeleteObjectAsync(r, ObjectFields.Namespace(item), ObjectFields.Name(item), options, IsDryRun(http), ct)
                    .ConfigureAwait(false));
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
        }

        await WriteJsonAsync(http, 200, new JsonObject
        {
            ["kind"] = r.ListKind, ["apiVersion"] = r.GroupVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
            ["items"] = deleted,
        }, ct).ConfigureAwait(false);
    }
}
