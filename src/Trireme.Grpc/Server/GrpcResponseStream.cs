using System.IO.Pipelines;
using Google.Protobuf;

namespace Trireme.Grpc.Server;

/// <summary>
/// Writes response messages of a streaming call. Each write is flushed and awaits HTTP/2 flow
/// control, so a slow client pushes back on the producer (bounded: at most one message in flight per
/// writer). Safe to call from several tasks (e.g. one per watcher): writes are serialised.
/// </summary>
public sealed class GrpcResponseStream<T>
    where T : IMessage
{
    private readonly PipeWriter _pipe;
    private readonly int _maxMessageBytes;
    private readonly CancellationToken _callCancellation;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    internal GrpcResponseStream(PipeWriter pipe, int maxMessageBytes, CancellationToken callCancellation)
    {
        _pipe = pipe;
        _maxMessageBytes = maxMessageBytes;
        _callCancellation = callCancellation;
    }

    public async ValueTask WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        CancellationToken token = cancellationToken.CanBeCanceled ? cancellationToken : _callCancellation;
        await _writeLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            _callCancellation.ThrowIfCancellationRequested();
            GrpcFraming.WriteMessage(_pipe, message, _maxMessageBytes);
            FlushResult flush = await _pipe.FlushAsync(_callCancellation).ConfigureAwait(false);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                throw new OperationCanceledException("the client went away", _callCancellation);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
