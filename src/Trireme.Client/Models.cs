using System.Text.Json;
using System.Text.Json.Serialization;

namespace Trireme.Client;

// Only the fields the roles read; unknown fields are ignored by System.Text.Json, so newer servers
// stay readable.

public sealed class ObjectMeta
{
    public string? Name { get; set; }

    public string? Namespace { get; set; }

    public string? ResourceVersion { get; set; }

    public string? Uid { get; set; }
}

public sealed class ListMeta
{
    public string? ResourceVersion { get; set; }

    public string? Continue { get; set; }
}

public sealed class KubeList<T>
{
    public ListMeta Metadata { get; set; } = new();

    public List<T> Items { get; set; } = [];
}

public sealed class Endpoints
{
    public ObjectMeta Metadata { get; set; } = new();

    public List<EndpointSubset>? Subsets { get; set; }
}

public sealed class EndpointSubset
{
    public List<EndpointAddress>? Addresses { get; set; }

    public List<EndpointPort>? Ports { get; set; }
}

public sealed class EndpointAddress
{
    public string Ip { get; set; } = "";
}

public sealed class EndpointPort
{
    public string? Name { get; set; }

    public int Port { get; set; }

    public string? Protocol { get; set; }
}

/// <summary>The Kubernetes <c>Status</c> object an API server answers errors with.</summary>
public sealed class KubeStatus
{
    public string? Status { get; set; }

    public string? Message { get; set; }

    public string? Reason { get; set; }

    public int Code { get; set; }
}

/// <summary>One line of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and the object
/// (a Status for ERROR).</summary>
public sealed class WatchEvent<T>
{
    public string Type { get; set; } = "";

    [JsonPropertyName("object")]
    public JsonElement Object { get; set; }

    public T? As(JsonSerializerOptions options) => Object.Deserialize<T>(options);
}
