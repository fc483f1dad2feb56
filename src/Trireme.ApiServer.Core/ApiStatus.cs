using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>
/// A failure the API reports as a meta/v1 Status: the reason and code kube-apiserver uses for the
/// same condition (NotFound 404, AlreadyExists 409, Conflict 409, Invalid 422, BadRequest 400, ...).
/// Thrown by handlers for bad input and expected outcomes; the request edge renders it.
/// </summary>
public sealed class ApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;
    public string Reason { get; } = reason;
    public JsonObject? Details { get; } = details;

    /// <summary>Seconds for Retry-After on 429 and some 5xx.</summary>
    public int? RetryAfterSeconds { get; init; }

    public JsonObject ToStatus() => ApiStatus.Failure(Code, Reason, Message, Details);

    public static ApiException NotFound(ResourceInfo r, string name) =>
        new(404, "NotFound", $"{r.QualifiedPlural} \"{name}\" not found", ApiStatus.Details(r, name));

    public static ApiException AlreadyExists(ResourceInfo r, string name) =>
        new(409, "AlreadyExists", $"{r.QualifiedPlural} \"{name}\" already exists", ApiStatus.Details(r, name));

    public static ApiException Conflict(ResourceInfo r, string name) =>
        new(409, "Conflict",
            $"Operation cannot be fulfilled on {r.QualifiedPlural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            ApiStatus.Details(r, name));

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException Gone(string message) => new(410, "Expired", message);

    public static ApiException Invalid(ResourceInfo r, string name, IReadOnlyList<FieldCause> causes)
    {
        var details = ApiStatus.Details(r, name);
        var list = new JsonArray();
        foreach (var c in causes)
        {
            list.Add(new JsonObject { ["reason"] = c.Reason, ["message"] = c.Message, ["field"] = c.Field });
        }

        details["causes"] = list;
        var summary = string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}"));
        var message = $"{r.Kind} \"{name}\" is invalid: " + (causes.Count == 1 ? summary : $"[{summary}]");
        return new ApiException(422, "Invalid", message, details);
    }
}

public static class ApiStatus
{
    public static JsonObject Details(ResourceInfo r, string name)
    {
        var details = new JsonObject { ["name"] = name };
        if (r.Group.Length > 0)
        {
            details["group"] = r.Group;
        }

        details["kind"] = r.Plural;
        return details;
    }

    public static JsonObject Failure(int code, string reason, string message, JsonObject? details)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null)
        {
            status["details"] = details.DeepClone();
        }

        status["code"] = code;
        return status;
    }

    public static JsonObject Success(ResourceInfo r, string name, string? uid)
    {
        var details = Details(r, name);
        if (uid is not null)
        {
            details["uid"] = uid;
        }

        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = details,
        };
    }
}
