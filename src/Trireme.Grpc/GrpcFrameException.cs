namespace Trireme.Grpc;

/// <summary>Why a length-prefixed message was rejected.</summary>
public enum FrameRejection
{
    /// <summary>Compressed flag is 1 but no grpc-encoding was negotiated (Trireme never negotiates one).</summary>
    CompressedWithoutEncoding = 1,

    /// <summary>Compressed flag is neither 0 nor 1.</summary>
    InvalidCompressedFlag = 2,

    /// <summary>The declared length is over the receive limit.</summary>
    MessageTooLarge = 3,

    /// <summary>The stream ended in the middle of a message.</summary>
    TruncatedMessage = 4,

    /// <summary>The payload is not a valid protobuf encoding of the expected message.</summary>
    MalformedMessage = 5,
}

/// <summary>
/// The typed rejection of bad framing from the wire. The session edge turns it into a gRPC status
/// (<see cref="StatusCode"/>) rather than letting any other exception escape the decoder.
/// </summary>
public sealed class GrpcFrameException : Exception
{
    public GrpcFrameException(FrameRejection reason, string message)
        : base(message)
    {
        Reason = reason;
    }

    public GrpcFrameException()
        : this(FrameRejection.MalformedMessage, "malformed gRPC frame")
    {
    }

    public GrpcFrameException(string message)
        : this(FrameRejection.MalformedMessage, message)
    {
    }

    public GrpcFrameException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = FrameRejection.MalformedMessage;
    }

    public FrameRejection Reason { get; }

    /// <summary>The status grpc-go uses for the same rejection.</summary>
    public StatusCode StatusCode => Reason == FrameRejection.MessageTooLarge ? StatusCode.ResourceExhausted : StatusCode.Internal;

    public GrpcException ToGrpcException() => new(StatusCode, Message, this);
}
