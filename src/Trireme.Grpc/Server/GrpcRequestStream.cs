using Google.Protobuf;

namespace Trireme.Grpc.Server;

/// <summary>
/// The client's messages on a client-streaming or bidi call, read on demand straight from the
/// HTTP/2 stream: nothing is buffered ahead beyond one message, so a slow handler slows the client
/// through HTTP/2 flow control instead of growing memory.
/// </summary>
public sealed class GrpcRequestStream<T> : IAsyncEnumerable<T>
    where T : class, IMessage<T>
{
    private readonly GrpcMessageReader<T> _reader;
    private readonly CancellationToken _callCancellation;

    internal GrpcRequestStream(GrpcMessageReader<T> reader, CancellationToken callCancellation)
    {
        _reader = reader;
        _callCancellation = callCancellation;
    }

    /// <summary>The next request, or null when the client has half-closed its side.</summary>
    public ValueTask<T?> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return _reader.ReadAsync(_callCancellation);
        }

        return ReadLinkedAsync(cancellationToken);
    }

    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    private async ValueTask<T?> ReadLinkedAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_callCancellation, cancellationToken);
        return await _reader.ReadAsync(linked.Token).ConfigureAwait(false);
    }
}
