namespace Trireme.Grpc.Server;

/// <summary>Limits of a <see cref="GrpcServer"/>; each named with its reason.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageBytes;

    /// <summary>Largest response message sent; a handler producing more fails with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageBytes { get; init; } = int.MaxValue;
}
