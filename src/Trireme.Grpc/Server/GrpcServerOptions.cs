namespace Trireme.Grpc.Server;

/// <summary>Limits of a <see cref="GrpcServer"/>; each named with its reason.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageBytes;

    /// <summary>Largest response message sent; a handler producing more fails with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageBytes { get; init; } = int.MaxValue;

    /// <summary>Awaited before any handler runs (etcd's ReadyNotify: a member accepts connections at once
    /// but serves nothing until it has joined and published itself). Null = always ready. A call whose
    /// deadline passes while it waits ends with DEADLINE_EXCEEDED, as any other wait would.</summary>
    public Func<CancellationToken, Task>? WaitUntilReady { get; init; }
}
