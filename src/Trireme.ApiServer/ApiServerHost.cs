using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

/// <summary>
/// A running API server: Kestrel over TLS only (HTTP/1.1 and HTTP/2), client certificates
/// requested at the handshake and verified per request against --client-ca-file, every request
/// going through <see cref="ApiServerContext.HandleAsync"/>. Owns the web host and the context.
/// </summary>
public sealed class ApiServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ApiServerContext Context { get; }

    /// <summary>The bound port (useful when SecurePort is 0).</summary>
    public int Port { get; }

    public string Url => $"https://{(Context.Options.BindAddress.Equals(IPAddress.Any) ? "127.0.0.1" : Context.Options.BindAddress.ToString())}:{Port}";

    private ApiServerHost(WebApplication app, ApiServerContext context, int port)
    {
        _app = app;
        Context = context;
        Port = port;
    }

    public static async Task<ApiServerHost> StartAsync(ApiServerOptions options, IKeyValueStore store, ILoggerFactory? logs,
        TimeProvider? clock, CancellationToken ct)
    {
        logs ??= LoggerFactory.Create(_ => { });
        clock ??= TimeProvider.System;
        var serving = X509Certificate2.CreateFromPemFile(options.TlsCertFile, options.TlsPrivateKeyFile);
        var clientCas = new X509Certificate2Collection();
        if (options.ClientCaFile.Length > 0)
        {
            clientCas.ImportFromPemFile(options.ClientCaFile);
        }

        // Nothing here reads appsettings files: root the host at the binaries and do not watch for config
        // changes. The default (working directory, reload on change) puts a recursive inotify watch on
        // wherever the process was started — every data-dir write wakes it, and from / it would walk the
        // whole tree.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(logs));
        builder.Logging.AddFilter(ForwardingLoggerProvider.AspNetCoreCategory, LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Bodies are bounded by the handler so that an oversized one is a 413 Status, not a reset.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Listen(options.BindAddress, options.SecurePort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = serving,
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                    // Verified per request by the authenticator, so a bad certificate is a 401 Status, not a handshake error.
                    ClientCertificateValidation = (_, _, _) => true,
                });
            });
        });
        var app = builder.Build();
        var context = new ApiServerContext(options, store, clientCas, serving, clock, logs);
        app.Run(context.HandleAsync);
        await context.StartAsync(ct).ConfigureAwait(false);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
        var advertise = options.AdvertiseAddress
            ?? (options.BindAddress.Equals(IPAddress.Any) || options.BindAddress.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : options.BindAddress);
        context.AdvertisedAddress = $"{advertise}:{port}";
        await context.Endpoints.ReconcileAsync(true, ct).ConfigureAwait(false);
        return new ApiServerHost(app, context, port);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await Context.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
