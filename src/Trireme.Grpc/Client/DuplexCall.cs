using Google.Protobuf;

namespace Trireme.Grpc.Client;

/// <summary>
/// A bidi call in progress. Writes go straight into the HTTP/2 request stream (bounded by flow
/// control); reads come from the response stream; both may run at once from different tasks.
/// Dispose resets the stream if the call has not ended, so the server's handler is cancelled.
/// </summary>
public sealed class DuplexCall<TRequest, TResponse> : IAsyncDisposable, IDisposable
    where TRequest : IMessage
    where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcCall<TResponse> _call;
    private readonly StreamingRequestContent _content;

    internal DuplexCall(GrpcCall<TResponse> call, StreamingRequestContent content)
    {
        _call = call;
        _content = content;
    }

    public async ValueTask WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_call.CancellationToken, cancellationToken);
        try
        {
            await _content.WriteAsync(message, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (_call.Translate(e, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>Half-closes the request side; responses keep coming until the server ends the call.</summary>
    public ValueTask CompleteRequestsAsync(CancellationToken cancellationToken = default) => _content.CompleteAsync(cancellationToken);

    /// <summary>The next response, or null when the server ended the call with OK.</summary>
    public ValueTask<TResponse?> ReadAsync(CancellationToken cancellationToken = default) => _call.ReadAsync(cancellationToken);

    public async IAsyncEnumerable<TResponse> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } response)
        {
            yield return response;
        }
    }

    public void Dispose()
    {
        _content.Abort();
        _call.Dispose();
        _content.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
