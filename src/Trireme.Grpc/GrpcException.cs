namespace Trireme.Grpc;

/// <summary>
/// A call ended with a non-OK status. Server handlers throw it to answer with that status (it becomes
/// the grpc-status/grpc-message trailers); the client throws it when a call ends that way.
/// </summary>
public sealed class GrpcException : Exception
{
    public GrpcException(StatusCode statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    public GrpcException(StatusCode statusCode, string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = statusCode;
    }

    public GrpcException()
        : this(StatusCode.Unknown, "unknown error")
    {
    }

    public GrpcException(string message)
        : this(StatusCode.Unknown, message)
    {
    }

    public GrpcException(string message, Exception innerException)
        : this(StatusCode.Unknown, message, innerException)
    {
    }

    public StatusCode StatusCode { get; }

    public override string ToString() => $"{StatusCode}: {Message}";
}
