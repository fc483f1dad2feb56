using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Trireme.Grpc;

/// <summary>
/// Reads length-prefixed messages from a pipe (Kestrel's request body on the server, the HTTP/2
/// response stream on the client). Memory stays bounded by the receive limit: a frame declaring
/// more is rejected before its payload is buffered.
/// </summary>
public sealed class GrpcMessageReader<T>
    where T : class, IMessage<T>
{
    private readonly PipeReader _pipe;
    private readonly MessageParser<T> _parser;
    private readonly int _maxMessageBytes;
    private bool _completed;

    public GrpcMessageReader(PipeReader pipe, MessageParser<T> parser, int maxMessageBytes)
    {
        _pipe = pipe;
        _parser = parser;
        _maxMessageBytes = maxMessageBytes;
    }

    /// <summary>
    /// The next message, or null at the clean end of the stream. Throws
    /// <see cref="GrpcFrameException"/> for bad framing or a stream that ends inside a message.
    /// </summary>
    public async ValueTask<T?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_completed)
        {
            return null;
        }

        while (true)
        {
            ReadResult result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            T? message = TryParse(ref buffer, out SequencePosition consumed);
            if (message is not null)
            {
                _pipe.AdvanceTo(consumed);
                return message;
            }

            if (result.IsCompleted)
            {
                bool empty = buffer.IsEmpty;
                _pipe.AdvanceTo(buffer.End);
                _completed = true;
                if (!empty)
                {
                    throw new GrpcFrameException(FrameRejection.TruncatedMessage, "grpc: the stream ended inside a message");
                }

                return null;
            }

            // Everything buffered is examined so the pipe (and HTTP/2 flow control) lets more in.
            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private T? TryParse(ref ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!GrpcFraming.TryReadMessage(ref reader, _maxMessageBytes, out ReadOnlySequence<byte> payload))
        {
            consumed = buffer.Start;
            return null;
        }

        consumed = reader.Position;
        return GrpcFraming.ParsePayload(_parser, payload);
    }
}
