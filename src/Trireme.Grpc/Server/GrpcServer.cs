using System.Collections.Frozen;
using System.Globalization;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Trireme.Grpc.Server;

/// <summary>
/// A small gRPC router on ASP.NET Core: register handlers by full method path, then let
/// <see cref="HandleAsync"/> serve requests (through <see cref="GrpcApplicationBuilderExtensions.UseGrpc"/>
/// or <see cref="GrpcHost"/>). Errors become grpc-status/grpc-message trailers; an unknown method
/// answers UNIMPLEMENTED; the call's token fires on client disconnect or deadline.
/// Register everything before serving: the table is frozen on first use.
/// </summary>
public sealed partial class GrpcServer
{
    private readonly Dictionary<string, Func<HttpContext, ServerCallContext, Task>> _registrations = new(StringComparer.Ordinal);
    private FrozenDictionary<string, Func<HttpContext, ServerCallContext, Task>>? _methods;
    private readonly ILogger _logger;

    public GrpcServer(GrpcServerOptions? options = null, ILogger? logger = null)
    {
        Options = options ?? new GrpcServerOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    public GrpcServerOptions Options { get; }

    public IReadOnlyCollection<string> Methods => _registrations.Keys;

    public GrpcServer MapUnary<TRequest, TResponse>(string method, Func<TRequest, ServerCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(method, async (http, call) =>
        {
            TRequest request = await ReadSingleAsync<TRequest>(http, call).ConfigureAwait(false);
            TResponse response = await handler(request, call).ConfigureAwait(false);
            await WriteAsync(http, response, call).ConfigureAwait(false);
        });
    }

    public GrpcServer MapServerStreaming<TRequest, TResponse>(string method, Func<TRequest, GrpcResponseStream<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(method, async (http, call) =>
        {
            TRequest request = await ReadSingleAsync<TRequest>(http, call).ConfigureAwait(false);
            await handler(request, ResponseStream<TResponse>(http, call), call).ConfigureAwait(false);
        });
    }

    public GrpcServer MapClientStreaming<TRequest, TResponse>(string method, Func<GrpcRequestStream<TRequest>, ServerCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(method, async (http, call) =>
        {
            TResponse response = await handler(RequestStream<TRequest>(http, call), call).ConfigureAwait(false);
            await WriteAsync(http, response, call).ConfigureAwait(false);
        });
    }

    /// <summary>Bidi streaming: the handler reads requests and writes responses, interleaved as it likes.</summary>
    public GrpcServer MapDuplex<TRequest, TResponse>(string method, Func<GrpcRequestStream<TRequest>, GrpcResponseStream<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(method, async (http, call) =>
        {
            // Send the response headers at once so a client waiting for them (HttpClient's SendAsync)
            // can start reading before the first response message exists.
            await http.Response.StartAsync(call.CancellationToken).ConfigureAwait(false);
            await handler(RequestStream<TRequest>(http, call), ResponseStream<TResponse>(http, call), call).ConfigureAwait(false);
        });
    }

    /// <summary>Serves one HTTP request as a gRPC call.</summary>
    public async Task HandleAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _methods ??= _registrations.ToFrozenDictionary(StringComparer.Ordinal);
        string method = http.Request.Path.Value ?? "";
        if (!IsGrpcRequest(http.Request))
        {
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        http.Response.ContentType = GrpcProtocol.ContentType;
        // A stream's total body is unbounded over its life (a watch runs for days); what is bounded
        // is each message (MaxReceiveMessageBytes). Kestrel's 30 MB per-request cap would cut it.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        if (!_methods.TryGetValue(method, out var invoke))
        {
            SetStatus(http, StatusCode.Unimplemented, $"unknown method {method.TrimStart('/')}");
            return;
        }

        if (!TryGetTimeout(http.Request, out TimeSpan? timeout))
        {
            SetStatus(http, StatusCode.Internal, "malformed grpc-timeout");
            return;
        }

        using var deadline = new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, deadline.Token);
        DateTimeOffset? deadlineAt = null;
        if (timeout is { } t)
        {
            deadlineAt = DateTimeOffset.UtcNow + t;
            deadline.CancelAfter(t);
        }

        var call = new ServerCallContext(http, method, deadlineAt, linked.Token);
        await InvokeAsync(http, call, invoke, deadline).ConfigureAwait(false);
    }

    private async Task InvokeAsync(HttpContext http, ServerCallContext call, Func<HttpContext, ServerCallContext, Task> invoke, CancellationTokenSource deadline)
    {
        try
        {
            if (Options.WaitUntilReady is { } ready)
            {
                await ready(call.CancellationToken).ConfigureAwait(false);
            }

            await invoke(http, call).ConfigureAwait(false);
            SetStatus(http, StatusCode.OK, null);
        }
        catch (GrpcException e)
        {
            SetStatus(http, e.StatusCode, e.Message);
        }
        catch (GrpcFrameException e)
        {
            SetStatus(http, e.StatusCode, e.Message);
        }
        catch (Exception e) when (IsCancellation(e) && deadline.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            SetStatus(http, StatusCode.DeadlineExceeded, "context deadline exceeded");
        }
        catch (Exception e) when (IsCancellation(e) && http.RequestAborted.IsCancellationRequested)
        {
            // The client is gone (disconnect or RST_STREAM): there is nobody to send a status to.
            LogClientGone(_logger, call.Method);
        }
        catch (Exception e) when (IsCancellation(e))
        {
            SetStatus(http, StatusCode.Cancelled, "context canceled");
        }
#pragma warning disable CA1031 // A handler bug must end only its own call, with a status that leaks no details.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogHandlerFailed(_logger, call.Method, e);
            SetStatus(http, StatusCode.Unknown, "exception was thrown by handler");
        }
    }

    private static bool IsCancellation(Exception e) =>
        e is OperationCanceledException || e is IOException || e is Microsoft.AspNetCore.Connections.ConnectionAbortedException;

    private GrpcServer Register(string method, Func<HttpContext, ServerCallContext, Task> invoke)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        if (_methods is not null)
        {
            throw new InvalidOperationException("register methods before the server starts serving");
        }

        if (!method.StartsWith('/'))
        {
            throw new ArgumentException("a method path looks like /package.Service/Method", nameof(method));
        }

        _registrations.Add(method, invoke);
        return this;
    }

    private async ValueTask<TRequest> ReadSingleAsync<TRequest>(HttpContext http, ServerCallContext call)
        where TRequest : class, IMessage<TRequest>, new()
    {
        var reader = new GrpcMessageReader<TRequest>(http.Request.BodyReader, Parser<TRequest>.Instance, Options.MaxReceiveMessageBytes);
        TRequest? request = await reader.ReadAsync(call.CancellationToken).ConfigureAwait(false);
        if (request is null)
        {
            throw new GrpcException(StatusCode.Internal, "grpc: the client sent no request message");
        }

        if (await reader.ReadAsync(call.CancellationToken).ConfigureAwait(false) is not null)
        {
            throw new GrpcException(StatusCode.Internal, "grpc: the client sent more than one request message on a unary call");
        }

        return request;
    }

    private GrpcRequestStream<TRequest> RequestStream<TRequest>(HttpContext http, ServerCallContext call)
        where TRequest : class, IMessage<TRequest>, new() =>
        new(new GrpcMessageReader<TRequest>(http.Request.BodyReader, Parser<TRequest>.Instance, Options.MaxReceiveMessageBytes), call.CancellationToken);

    private GrpcResponseStream<TResponse> ResponseStream<TResponse>(HttpContext http, ServerCallContext call)
        where TResponse : class, IMessage<TResponse> =>
        new(http.Response.BodyWriter, Options.MaxSendMessageBytes, call.CancellationToken);

    private async ValueTask WriteAsync(HttpContext http, IMessage response, ServerCallContext call)
    {
        GrpcFraming.WriteMessage(http.Response.BodyWriter, response, Options.MaxSendMessageBytes);
        await http.Response.BodyWriter.FlushAsync(call.CancellationToken).ConfigureAwait(false);
    }

    private static bool IsGrpcRequest(HttpRequest request) =>
        HttpMethods.IsPost(request.Method)
        && request.ContentType is { } contentType
        && contentType.StartsWith(GrpcProtocol.ContentType, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == GrpcProtocol.ContentType.Length || contentType[GrpcProtocol.ContentType.Length] is '+' or ';');

    private static bool TryGetTimeout(HttpRequest request, out TimeSpan? timeout)
    {
        timeout = null;
        if (!request.Headers.TryGetValue(GrpcProtocol.TimeoutHeader, out var values))
        {
            return true;
        }

        if (!GrpcTimeout.TryParse(values.ToString(), out TimeSpan parsed))
        {
            return false;
        }

        timeout = parsed;
        return true;
    }

    /// <summary>
    /// Ends the call with a status: in the trailers after messages, or — when nothing was sent yet —
    /// in the headers of a trailers-only response, as the gRPC spec allows.
    /// </summary>
    private static void SetStatus(HttpContext http, StatusCode code, string? message)
    {
        string status = ((int)code).ToString(CultureInfo.InvariantCulture);
        if (!http.Response.HasStarted)
        {
            http.Response.Headers[GrpcProtocol.StatusTrailer] = status;
            if (!string.IsNullOrEmpty(message))
            {
                http.Response.Headers[GrpcProtocol.MessageTrailer] = GrpcStatusMessage.Encode(message);
            }

            return;
        }

        if (http.Features.Get<IHttpResponseTrailersFeature>() is null || http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        http.Response.AppendTrailer(GrpcProtocol.StatusTrailer, status);
        if (!string.IsNullOrEmpty(message))
        {
            http.Response.AppendTrailer(GrpcProtocol.MessageTrailer, GrpcStatusMessage.Encode(message));
        }
    }

    private static class Parser<T>
        where T : class, IMessage<T>, new()
    {
        public static readonly MessageParser<T> Instance = new(() => new T());
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "gRPC call {Method}: the client went away")]
    private static partial void LogClientGone(ILogger logger, string method);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "gRPC call {Method}: handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, string method, Exception exception);
}
