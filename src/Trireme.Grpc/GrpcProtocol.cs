namespace Trireme.Grpc;

/// <summary>Names and defaults from the gRPC over HTTP/2 specification (PROTOCOL-HTTP2.md).</summary>
public static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusTrailer = "grpc-status";
    public const string MessageTrailer = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";

    /// <summary>grpc-go's default receive limit; etcd raises it (see Trireme.Store.Api.EtcdLimits).</summary>
    public const int DefaultMaxReceiveMessageBytes = 4 * 1024 * 1024;

    /// <summary>Default send limit: the same as receive, so we never send what a default peer rejects.</summary>
    public const int DefaultMaxSendMessageBytes = 4 * 1024 * 1024;
}
