namespace Trireme.Grpc.Client;

/// <summary>Per-call settings: a timeout (sent as grpc-timeout and enforced locally), cancellation, metadata.</summary>
public readonly record struct CallOptions(TimeSpan? Timeout = null, CancellationToken CancellationToken = default, IReadOnlyDictionary<string, string>? Headers = null);
