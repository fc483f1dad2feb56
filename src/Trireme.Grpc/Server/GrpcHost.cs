using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trireme.Grpc.Http2;

namespace Trireme.Grpc.Server;

/// <summary>How <see cref="GrpcHost"/> listens.</summary>
public sealed class GrpcHostOptions
{
    /// <summary>Addresses to bind; port 0 picks a free port (see <see cref="GrpcHost.Endpoints"/>).</summary>
    public IReadOnlyList<IPEndPoint> Endpoints { get; init; } = [new IPEndPoint(IPAddress.Loopback, 0)];

    /// <summary>Serve TLS with ALPN h2 when set; otherwise h2c with prior knowledge (what etcdctl does for http://).</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>With TLS: require a client certificate that chains to this CA (etcd's --client-cert-auth + --trusted-ca-file).</summary>
    public X509Certificate2? ClientCertificateAuthority { get; init; }

    /// <summary>
    /// HTTP/2 streams one connection may have open; etcd's default (math.MaxUint32) is effectively
    /// unbounded, Trireme bounds it so one client cannot hold unbounded server state.
    /// </summary>
    public int MaxStreamsPerConnection { get; init; } = 1000;

    /// <summary>
    /// Per-stream HTTP/2 receive window: at least one whole maximal message, so a large request is not
    /// held back waiting for window updates.
    /// </summary>
    public int InitialStreamWindowBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Idle time after which Kestrel pings a client connection, so a client that vanished without
    /// closing (power loss, partition) is detected and its calls cancelled.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long such a ping may go unanswered before the connection is closed.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// A Kestrel HTTP/2 server that serves one <see cref="GrpcServer"/>: the smallest way for a host or a
/// test to put a gRPC service on the network. Dispose stops it and waits for in-flight calls.
/// </summary>
public sealed class GrpcHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcHost(WebApplication app, IReadOnlyList<Uri> endpoints)
    {
        _app = app;
        Endpoints = endpoints;
    }

    /// <summary>The bound addresses as URLs (http:// or https://) with the real ports.</summary>
    public IReadOnlyList<Uri> Endpoints { get; }

    public static async Task<GrpcHost> StartAsync(GrpcServer server, GrpcHostOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options);
        // The default content root is the working directory, which the host watches recursively for
        // appsettings changes (a FileSystemWatcher). A store's --data-dir often lives below it, and then
        // every WAL write wakes that watcher (perf: ~4 % of a leader's CPU). Nothing here reads config
        // files, so root it at the binaries instead.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton<ILoggerFactory>(new WithoutHostingDiagnostics(options.LoggerFactory));
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            kestrel.Limits.Http2.InitialStreamWindowSize = options.InitialStreamWindowBytes;
            kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(options.InitialStreamWindowBytes, kestrel.Limits.Http2.InitialConnectionWindowSize);
            // gRPC bodies are long-lived streams (watch): Kestrel's minimum data rate would cut idle ones.
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            kestrel.Limits.MinResponseDataRate = null;
            foreach (IPEndPoint endpoint in options.Endpoints)
            {
                kestrel.Listen(endpoint, listen => ConfigureListen(listen, options));
            }
        });

        WebApplication app = builder.Build();
        app.UseGrpc(server);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new GrpcHost(app, addresses.Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal))).ToList());
    }

    public async ValueTask DisposeAsync()
    {
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static void ConfigureListen(ListenOptions listen, GrpcHostOptions options)
    {
        if (options.ServerCertificate is null)
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseAuthorityRewriter();
            return;
        }

        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(https =>
        {
            https.ServerCertificate = options.ServerCertificate;
            if (options.ClientCertificateAuthority is { } ca)
            {
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) => ChainsTo(certificate, ca);
            }
        });
        listen.UseAuthorityRewriter();
    }

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="authority"/> alone (not the system store).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 authority)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authority);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    internal static bool ValidateServerCertificate(X509Certificate2? certificate, SslPolicyErrors errors, X509Certificate2 authority)
    {
        if (certificate is null)
        {
            return false;
        }

        // Name mismatch is still an error; only the chain is judged against the custom CA.
        return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && ChainsTo(certificate, authority);
    }

    /// <summary>
    /// The caller's loggers minus ASP.NET Core's per-request hosting diagnostics. While that category's
    /// logger is enabled at any level, hosting creates an Activity (and a log scope) for every request
    /// only to carry trace ids into request logs; gRPC calls log through the router instead. Under load
    /// that was one more object per call, alive for the call's whole duration.
    /// </summary>
    private sealed class WithoutHostingDiagnostics(ILoggerFactory inner) : ILoggerFactory
    {
        private const string HostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";

        public ILogger CreateLogger(string categoryName) =>
            categoryName == HostingDiagnostics ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance : inner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
            // The caller owns the wrapped factory.
        }
    }
}
