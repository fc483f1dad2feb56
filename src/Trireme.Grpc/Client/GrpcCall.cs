using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Trireme.Grpc.Client;

/// <summary>
/// One HTTP/2 request carrying one gRPC call, any shape: sends the request (a fixed body or a
/// <see cref="StreamingRequestContent"/>), reads response messages one by one, and at the end turns
/// the grpc-status trailer into success or a <see cref="GrpcException"/>. Every failure surfaces as
/// a GrpcException (transport errors as UNAVAILABLE, the deadline as DEADLINE_EXCEEDED) except the
/// caller's own cancellation, which stays an OperationCanceledException.
/// </summary>
internal sealed class GrpcCall<TResponse> : IDisposable
    where TResponse : class, IMessage<TResponse>
{
    private readonly HttpClient _http;
    private readonly HttpRequestMessage _request;
    private readonly MessageParser<TResponse> _parser;
    private readonly int _maxReceiveMessageBytes;
    private readonly CancellationToken _userCancellation;
    private readonly CancellationTokenSource _callCancellation;
    private readonly CancellationTokenSource? _deadline;
    private Task<HttpResponseMessage>? _send;
    private HttpResponseMessage? _response;
    private GrpcMessageReader<TResponse>? _reader;
    private bool _finished;

    public GrpcCall(HttpClient http, Uri address, string method, HttpContent content, MessageParser<TResponse> parser, int maxReceiveMessageBytes, CallOptions options)
    {
        _http = http;
        _parser = parser;
        _maxReceiveMessageBytes = maxReceiveMessageBytes;
        _userCancellation = options.CancellationToken;
        _request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        _request.Headers.TryAddWithoutValidation("te", "trailers");
        _request.Headers.TryAddWithoutValidation("user-agent", "trireme-grpc/1");
        if (options.Timeout is { } timeout)
        {
            _request.Headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(timeout));
            _deadline = new CancellationTokenSource(timeout);
        }

        foreach (var (name, value) in options.Headers ?? new Dictionary<string, string>())
        {
            _request.Headers.TryAddWithoutValidation(name, value);
        }

        _callCancellation = _deadline is null
            ? CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, _deadline.Token);
    }

    public CancellationToken CancellationToken => _callCancellation.Token;

    /// <summary>Starts the request; the response headers are awaited by the first read.</summary>
    public void Start() =>
        _send = _http.SendAsync(_request, HttpCompletionOption.ResponseHeadersRead, _callCancellation.Token);

    /// <summary>The next response message, or null after a clean end with status OK.</summary>
    public async ValueTask<TResponse?> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_finished)
        {
            return null;
        }

        try
        {
            if (_reader is null && !await ReceiveHeadersAsync().ConfigureAwait(false))
            {
                return null;
            }

            using var linked = cancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(_callCancellation.Token, cancellationToken)
                : null;
            TResponse? message = await _reader!.ReadAsync(linked?.Token ?? _callCancellation.Token).ConfigureAwait(false);
            if (message is null)
            {
                _finished = true;
                ThrowIfNotOk(_response!.TrailingHeaders, "trailers");
            }

            return message;
        }
        catch (Exception e) when (Translate(e, cancellationToken) is { } translated)
        {
            _finished = true;
            throw translated;
        }
    }

    public void Cancel() => _callCancellation.Cancel();

    public void Dispose()
    {
        if (!_callCancellation.IsCancellationRequested && !_finished)
        {
            // Resets the HTTP/2 stream so the server sees the call end.
            _callCancellation.Cancel();
        }

        _response?.Dispose();
        _request.Dispose();
        _callCancellation.Dispose();
        _deadline?.Dispose();
    }

    private async ValueTask<bool> ReceiveHeadersAsync()
    {
        _response = await _send!.ConfigureAwait(false);
        if (_response.StatusCode != HttpStatusCode.OK)
        {
            throw new GrpcException(FromHttpStatus(_response.StatusCode), $"unexpected HTTP status code received from server: {(int)_response.StatusCode} ({_response.StatusCode})");
        }

        if (_response.Headers.Contains(GrpcProtocol.StatusTrailer))
        {
            // Trailers-only response: the status came with the headers and there is no body.
            _finished = true;
            ThrowIfNotOk(_response.Headers, "headers");
            return false;
        }

        string? contentType = _response.Content.Headers.ContentType?.MediaType;
        if (contentType is null || !contentType.StartsWith(GrpcProtocol.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new GrpcException(StatusCode.Internal, $"unexpected content-type \"{contentType}\" from server");
        }

        Stream body = await _response.Content.ReadAsStreamAsync(_callCancellation.Token).ConfigureAwait(false);
        _reader = new GrpcMessageReader<TResponse>(PipeReader.Create(body, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: false)), _parser, _maxReceiveMessageBytes);
        return true;
    }

    private static void ThrowIfNotOk(HttpHeaders headers, string where)
    {
        if (!headers.TryGetValues(GrpcProtocol.StatusTrailer, out var statusValues))
        {
            throw new GrpcException(StatusCode.Internal, $"server closed the stream without sending a grpc-status in its {where}");
        }

        string statusText = statusValues.FirstOrDefault() ?? "";
        if (!int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out int status) || status > 16)
        {
            throw new GrpcException(StatusCode.Unknown, $"malformed grpc-status \"{statusText}\"");
        }

        if (status == 0)
        {
            return;
        }

        string message = headers.TryGetValues(GrpcProtocol.MessageTrailer, out var messages)
            ? GrpcStatusMessage.Decode(messages.FirstOrDefault() ?? "")
            : "";
        throw new GrpcException((StatusCode)status, message);
    }

    /// <summary>Maps any failure of the call to what the caller should see (null: rethrow as is).</summary>
    internal Exception? Translate(Exception e, CancellationToken readCancellation)
    {
        if (e is GrpcException)
        {
            return null;
        }

        if (e is GrpcFrameException frame)
        {
            return frame.ToGrpcException();
        }

        if (_userCancellation.IsCancellationRequested || readCancellation.IsCancellationRequested)
        {
            return e is OperationCanceledException ? null : new OperationCanceledException("the call was cancelled", e, _userCancellation);
        }

        if (_deadline?.IsCancellationRequested == true)
        {
            return new GrpcException(StatusCode.DeadlineExceeded, "context deadline exceeded", e);
        }

        if (e is HttpProtocolException protocol && protocol.ErrorCode == 0x8)
        {
            return new GrpcException(StatusCode.Cancelled, "the server cancelled the stream", e);
        }

        if (e is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            return new GrpcException(StatusCode.Unavailable, $"connection error: {e.Message}", e);
        }

        return null;
    }

    private static StatusCode FromHttpStatus(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.NotFound => StatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
