using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Trireme.Grpc.Server;

/// <summary>
/// What a handler knows about its call. <see cref="CancellationToken"/> fires when the client goes
/// away, resets the stream, or the grpc-timeout deadline passes; handlers pass it to everything they
/// await so nothing outlives the call.
/// </summary>
public sealed class ServerCallContext
{
    internal ServerCallContext(HttpContext httpContext, string method, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        HttpContext = httpContext;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method path, e.g. "/etcdserverpb.KV/Range".</summary>
    public string Method { get; }

    /// <summary>When the client's grpc-timeout runs out, if it sent one.</summary>
    public DateTimeOffset? Deadline { get; }

    public CancellationToken CancellationToken { get; }

    public HttpContext HttpContext { get; }

    /// <summary>The client's TLS certificate when the endpoint asked for one.</summary>
    public X509Certificate2? ClientCertificate => HttpContext.Connection.ClientCertificate;

    /// <summary>A request header (gRPC metadata), or null.</summary>
    public string? GetHeader(string name) => HttpContext.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null;
}
