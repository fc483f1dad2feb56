using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

// status, scale, binding, eviction, log, approval, finalize.
public sealed partial class ApiHandler
{
    private async Task HandleSubresourceAsync(HttpContext http, ResourceInfo r, string? ns, string name, string sub, UserInfo user, CancellationToken ct)
    {
        var method = http.Request.Method;
        switch (sub, method)
        {
            case ("status" or "approval", "GET"):
                await GetAsync(http, r, ns, name, ct).ConfigureAwait(false);
                return;
            case ("status" or "approval" or "finalize", "PUT" or "PATCH"):
            {
                Func<JsonObject, JsonObject> mutate;
                long precondition = -1;
                if (method == "PUT")
                {
                    var body = AsObjectBody(await ReadBodyAsync(http, false, ct).ConfigureAwait(false));
                    CheckKind(r, body);
                    precondition = ParseRevision(ObjectFields.Str(body, "metadata", "resourceVersion"), "resourceVersion");
                    mutate = _ => body;
                }
                else
                {
                    mutate = await ReadPatchAsync(http, ct).ConfigureAwait(false);
                }

                var scope = sub == "finalize" ? UpdateScope.Finalize : UpdateScope.Status;
                var updated = await UpdateLoopAsync(r, ns, name, precondition, IsDryRun(http), mutate, scope, ct).ConfigureAwait(false);
                await WriteJsonAsync(http, 200, updated, ct).ConfigureAwait(false);
                return;
            }

            case ("scale", _):
                await ScaleAsync(http, r, ns, name, ct).ConfigureAwait(false);
                return;
            case ("binding", "POST"):
                await BindAsync(http, r, ns!, name, ct).ConfigureAwait(false);
                return;
            case ("eviction", "POST"):
            {
                var eviction = AsObjectBody(await ReadBodyAsync(http, false, ct).ConfigureAwait(false));
                await DeleteObjectAsync(r, ns, name, ObjectFields.Obj(eviction, "deleteOptions"), IsDryRun(http), ct).ConfigureAwait(false);
                var status = ApiStatus.Success(r, name, null);
                status["code"] = 201;
                await WriteJsonAsync(http, 201, status, ct).ConfigureAwait(false);
                return;
            }

            case ("log", "GET"):
                await _server.PodLogs.ServeAsync(http, r, ns!, name, ct).ConfigureAwait(false);
                return;
            default:
                throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }
    }

    private async Task BindAsync(HttpContext http, ResourceInfo r, string ns, string name, CancellationToken ct)
    {
        var binding = AsObjectBody(await ReadBodyAsync(http, false, ct).ConfigureAwait(false));
        var node = ObjectFields.Str(binding, "target", "name");
        if (string.IsNullOrEmpty(node))
        {
            throw ApiException.Invalid(r, name, [new FieldCause("FieldValueRequired", "target.name", "Required value")]);
        }

        await UpdateLoopAsync(r, ns, name, -1, IsDryRun(http), current =>
        {
            var assigned = ObjectFields.Str(current, "spec", "nodeName");
            if (!string.IsNullOrEmpty(assigned))
            {
                throw new ApiException(409, "Conflict",
                    $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{assigned}\"",
                    ApiStatus.Details(r, name));
            }

            if (ObjectFields.Str(current, "metadata", "deletionTimestamp") is not null)
            {
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is being deleted, cannot be assigned to a host");
            }

            Defaulting.Ensure(current, "spec")["nodeName"] = node;
            var conditions = ObjectFields.Arr(current, "status", "conditions") ?? new JsonArray();
            if (conditions.All(c => ObjectFields.Str(c, "type") != "PodScheduled"))
            {
                conditions.Add(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastTransitionTime"] = ObjectCodec.Rfc3339(Now) });
            }

            Defaulting.Ensure(current, "status")["conditions"] = conditions.DeepClone();
            return current;
        }, UpdateScope.Main, ct).ConfigureAwait(false);

        // The main endpoint keeps status as it was; the PodScheduled condition goes through the status scope.
        await UpdateLoopAsync(r, ns, name, -1, IsDryRun(http), current =>
        {
            var conditions = ObjectFields.Arr(current, "status", "conditions") ?? new JsonArray();
            if (conditions.All(c => ObjectFields.Str(c, "type") != "PodScheduled"))
            {
                conditions.Add(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastTransitionTime"] = ObjectCodec.Rfc3339(Now) });
            }

            Defaulting.Ensure(current, "status")["conditions"] = conditions.DeepClone();
            return current;
        }, UpdateScope.Status, ct).ConfigureAwait(false);
        var status = ApiStatus.Success(r, name, null);
        status["code"] = 201;
        await WriteJsonAsync(http, 201, status, ct).ConfigureAwait(false);
    }

    private async Task ScaleAsync(HttpContext http, ResourceInfo r, string? ns, string name, CancellationToken ct)
    {
        var method = http.Request.Method;
        if (method == "GET")
        {
            var (obj, _) = await Objects.MustGetAsync(r, ns, name, ct).ConfigureAwait(false);
            await WriteJsonAsync(http, 200, ToScale(obj), ct).ConfigureAwait(false);
            return;
        }

        Func<JsonObject, JsonObject> mutateScale;
        long precondition = -1;
        if (method == "PUT")
        {
            var body = AsObjectBody(await ReadBodyAsync(http, false, ct).ConfigureAwait(false));
            precondition = ParseRevision(ObjectFields.Str(body, "metadata", "resourceVersion"), "resourceVersion");
            mutateScale = _ => body;
        }
        else if (method == "PATCH")
        {
            mutateScale = await ReadPatchAsync(http, ct).ConfigureAwait(false);
        }
        else
        {
            throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }

        var updated = await UpdateLoopAsync(r, ns, name, precondition, IsDryRun(http), current =>
        {
            var scale = mutateScale(ToScale(current));
            var replicas = ObjectFields.Int(scale, "spec", "replicas") ?? 0;
            if (replicas < 0)
            {
                throw ApiException.Invalid(r, name, [new FieldCause("FieldValueInvalid", "spec.replicas", $"Invalid value: {replicas}: must be greater than or equal to 0")]);
            }

            Defaulting.Ensure(current, "spec")["replicas"] = replicas;
            return current;
        }, UpdateScope.Main, ct).ConfigureAwait(false);
        await WriteJsonAsync(http, 200, ToScale(updated), ct).ConfigureAwait(false);
    }

    /// <summary>autoscaling/v1 Scale view of a workload: spec.replicas, status.replicas and the selector as a string.</summary>
    private static JsonObject ToScale(JsonObject obj)
    {
        var meta = ObjectFields.Metadata(obj);
        var selector = string.Join(",", ObjectFields.StringMap(ObjectFields.Obj(obj, "spec", "selector", "matchLabels"))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = meta["name"]?.DeepClone(), ["namespace"] = meta["namespace"]?.DeepClone(), ["uid"] = meta["uid"]?.DeepClone(),
                ["resourceVersion"] = meta["resourceVersion"]?.DeepClone(), ["creationTimestamp"] = meta["creationTimestamp"]?.DeepClone(),
            },
            ["spec"] = new JsonObject { ["replicas"] = ObjectFields.Int(obj, "spec", "replicas") ?? 0 },
            ["status"] = new JsonObject
            {
                ["replicas"] = ObjectFields.Int(obj, "status", "replicas") ?? 0,
                ["selector"] = selector,
            },
        };
    }

    internal static string Itoa(long v) => v.ToString(CultureInfo.InvariantCulture);
}
