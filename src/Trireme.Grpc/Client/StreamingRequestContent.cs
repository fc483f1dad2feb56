using System.Buffers;
using System.Net;
using Google.Protobuf;

namespace Trireme.Grpc.Client;

/// <summary>
/// An HTTP request body that stays open while the caller writes messages into it: HttpClient hands
/// over the HTTP/2 stream in <see cref="SerializeToStreamAsync(Stream, TransportContext?, CancellationToken)"/>
/// and this content keeps it until <see cref="Complete"/>. Each write awaits the HTTP/2 flow control,
/// so the writer is bounded by what the server consumes.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly int _maxMessageBytes;
    private volatile bool _aborted;

    public StreamingRequestContent(int maxMessageBytes)
    {
        _maxMessageBytes = maxMessageBytes;
        Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
    }

    public async ValueTask WriteAsync(IMessage message, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(GrpcFraming.HeaderBytes + message.CalculateSize());
        GrpcFraming.WriteMessage(buffer, message, _maxMessageBytes);
        Stream stream = await _stream.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_aborted)
            {
                // The call is being torn down (reset, server gone): a transport condition, not a bug.
                throw new IOException("the call has ended; its request stream is closed");
            }

            if (_completed.Task.IsCompleted)
            {
                throw new InvalidOperationException("the request stream is already complete");
            }

            await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Half-closes the request side (END_STREAM) once pending writes are done.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _completed.TrySetResult();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends the body without waiting for writers (the call is being torn down).</summary>
    public void Abort()
    {
        _aborted = true;
        _completed.TrySetResult();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        await _completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aborted = true;
            _completed.TrySetResult();
            _stream.TrySetCanceled();
            _writeLock.Dispose();
        }

        base.Dispose(disposing);
    }
}
