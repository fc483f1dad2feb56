using System.Globalization;
using System.Text.Json.Nodes;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

/// <summary>
/// Kubernetes object semantics over the key-value store: keys by kube-apiserver's layout,
/// resourceVersion = mod revision, create as create-if-absent, update as compare-mod-revision.
/// Converts store outcomes into the API's errors (404, 409).
/// </summary>
public sealed class ResourceStore(IKeyValueStore store)
{
    /// <summary>
    /// What a conditional update found. Succeeded: Value is the object as written (resourceVersion
    /// set). Otherwise the key had moved on and Value is what the store holds now, read back in the
    /// same txn, so the caller can retry without another read.
    /// </summary>
    public readonly record struct UpdateAttempt(bool Succeeded, JsonObject Object, long ModRevision);

    public IKeyValueStore Store { get; } = store;

    public async Task<(JsonObject Object, long ModRevision)?> GetAsync(ResourceInfo r, string? ns, string name, CancellationToken ct)
    {
        var kv = await Store.GetAsync(r.Key(ns, name), ct).ConfigureAwait(false);
        return kv is null ? null : (ObjectCodec.Decode(kv), kv.ModRevision);
    }

    public async Task<(JsonObject Object, long ModRevision)> MustGetAsync(ResourceInfo r, string? ns, string name, CancellationToken ct) =>
        await GetAsync(r, ns, name, ct).ConfigureAwait(false) ?? throw ApiException.NotFound(r, name);

    public async Task<JsonObject> CreateAsync(ResourceInfo r, JsonObject obj, CancellationToken ct)
    {
        var name = ObjectFields.Name(obj);
        var result = await Store.CreateAsync(r.Key(ObjectFields.Namespace(obj), name), ObjectCodec.Encode(obj), ct).ConfigureAwait(false);
        if (result.Outcome == WriteOutcome.AlreadyExists)
        {
            throw ApiException.AlreadyExists(r, name);
        }

        return WithVersion(obj, result.Revision);
    }

    public async Task<JsonObject> UpdateAsync(ResourceInfo r, JsonObject obj, long expectedModRevision, CancellationToken ct)
    {
        var name = ObjectFields.Name(obj);
        var result = await Store.UpdateAsync(r.Key(ObjectFields.Namespace(obj), name), ObjectCodec.Encode(obj), expectedModRevision, ct)
            .ConfigureAwait(false);
        return result.Outcome switch
        {
            WriteOutcome.Succeeded => WithVersion(obj, result.Revision),
            WriteOutcome.NotFound => throw ApiException.NotFound(r, name),
            _ => throw ApiException.Conflict(r, name),
        };
    }

    /// <summary>
    /// Update if the key is still at expectedModRevision. On success obj itself gets the new
    /// resourceVersion and is returned (the caller owns it); a conflict is a result, not an exception.
    /// </summary>
    public async Task<UpdateAttempt> TryUpdateAsync(ResourceInfo r, JsonObject obj, long expectedModRevision, CancellationToken ct)
    {
        var name = ObjectFields.Name(obj);
        var result = await Store.UpdateAsync(r.Key(ObjectFields.Namespace(obj), name), ObjectCodec.Encode(obj), expectedModRevision, ct)
            .ConfigureAwait(false);
        switch (result.Outcome)
        {
            case WriteOutcome.Succeeded:
                ObjectFields.Metadata(obj)["resourceVersion"] = result.Revision.ToString(CultureInfo.InvariantCulture);
                return new UpdateAttempt(true, obj, result.Revision);
            case WriteOutcome.Conflict when result.Current is { } current:
                return new UpdateAttempt(false, ObjectCodec.Decode(current), current.ModRevision);
            default:
                throw ApiException.NotFound(r, name);
        }
    }

    public async Task<long> DeleteAsync(ResourceInfo r, string? ns, string name, long expectedModRevision, CancellationToken ct)
    {
        var result = await Store.DeleteAsync(r.Key(ns, name), expectedModRevision, ct).ConfigureAwait(false);
        return result.Outcome switch
        {
            WriteOutcome.Succeeded => result.Revision,
            WriteOutcome.NotFound => throw ApiException.NotFound(r, name),
            _ => throw ApiException.Conflict(r, name),
        };
    }

    private static JsonObject WithVersion(JsonObject obj, long revision)
    {
        var copy = obj.DeepClone().AsObject();
        ObjectFields.Metadata(copy)["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        return copy;
    }
}
