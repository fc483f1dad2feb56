using System.Buffers;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Trireme.Grpc.Server;

namespace Trireme.Grpc.Client;

/// <summary>
/// A gRPC client for one server address over HttpClient HTTP/2: h2c with prior knowledge for
/// http:// (RequestVersionExact), TLS with ALPN h2 for https:// with an optional custom CA and client
/// certificate. Connections are pooled and shared by all calls; dispose the channel to close them.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly HttpClient _http;

    public GrpcChannel(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        Address = address;
        Options = options ?? new GrpcChannelOptions();
        _http = new HttpClient(CreateHandler(Options), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri Address { get; }

    public GrpcChannelOptions Options { get; }

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string method, TRequest request, MessageParser<TResponse> parser, CallOptions options = default)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        using var call = new GrpcCall<TResponse>(_http, Address, method, FixedContent(request), parser, Options.MaxReceiveMessageBytes, options);
        call.Start();
        TResponse response = await call.ReadAsync().ConfigureAwait(false)
            ?? throw new GrpcException(StatusCode.Internal, "server sent no response message on a unary call");
        if (await call.ReadAsync().ConfigureAwait(false) is not null)
        {
            throw new GrpcException(StatusCode.Internal, "server sent more than one response message on a unary call");
        }

        return response;
    }

    /// <summary>Server streaming: enumerate the responses; the call ends (and is reset if unfinished) when enumeration stops.</summary>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(string method, TRequest request, MessageParser<TResponse> parser, CallOptions options = default, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        using var call = new GrpcCall<TResponse>(_http, Address, method, FixedContent(request), parser, Options.MaxReceiveMessageBytes, options);
        call.Start();
        while (await call.ReadAsync(cancellationToken).ConfigureAwait(false) is { } response)
        {
            yield return response;
        }
    }

    /// <summary>Bidi streaming: the returned call is writable and readable concurrently; dispose it to end the call.</summary>
    public DuplexCall<TRequest, TResponse> Duplex<TRequest, TResponse>(string method, MessageParser<TResponse> parser, CallOptions options = default)
        where TRequest : IMessage
        where TResponse : class, IMessage<TResponse>
    {
        var content = new StreamingRequestContent(Options.MaxSendMessageBytes);
        var call = new GrpcCall<TResponse>(_http, Address, method, content, parser, Options.MaxReceiveMessageBytes, options);
        call.Start();
        return new DuplexCall<TRequest, TResponse>(call, content);
    }

    public void Dispose() => _http.Dispose();

    private ByteArrayContent FixedContent(IMessage request)
    {
        var buffer = new ArrayBufferWriter<byte>(GrpcFraming.HeaderBytes + request.CalculateSize());
        GrpcFraming.WriteMessage(buffer, request, Options.MaxSendMessageBytes);
        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        return content;
    }

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = options.ConnectTimeout,
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        if (options.ClientCertificate is { } clientCertificate)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }

        if (options.CertificateAuthority is { } authority)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                GrpcHost.ValidateServerCertificate(certificate as X509Certificate2, errors, authority);
        }

        handler.SslOptions.ApplicationProtocols = [SslApplicationProtocol.Http2];
        return handler;
    }
}
