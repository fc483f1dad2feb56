using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Trireme.Grpc.Server;
using Trireme.Store.Api;
using Trireme.Store.Host;
using Trireme.Store.Services;

namespace Trireme.Store;

/// <summary>Client-side TLS as etcd's --cert-file/--key-file/--trusted-ca-file/--client-cert-auth name it.</summary>
public sealed record ClientTlsFiles(string CertFile, string KeyFile, string? TrustedCaFile, bool ClientCertAuth);

/// <summary>
/// A whole store member process: the Raft member (<see cref="StoreMember"/>) plus Kestrel serving etcd's
/// v3 API on the client URLs (h2c for http://, TLS for https://).
/// </summary>
public sealed class StoreServer : IAsyncDisposable
{
    private StoreServer(StoreMember member, GrpcHost host, StreamCounters streams)
    {
        Member = member;
        Host = host;
        Streams = streams;
    }

    public StoreMember Member { get; }
    public GrpcHost Host { get; }

    /// <summary>Open Watch and LeaseKeepAlive streams (leak checks, metrics).</summary>
    public StreamCounters Streams { get; }

    public static async Task<StoreServer> StartAsync(StoreMemberOptions options, IReadOnlyList<string> listenClientUrls,
        ClientTlsFiles? clientTls, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(listenClientUrls);
        var member = StoreMember.Start(options, loggers);
        try
        {
            var endpoints = listenClientUrls.Select(u => StoreMember.TryEndpoint(u, out var e) ? e
                : throw new ArgumentException($"bad --listen-client-urls entry '{u}'")).ToList();
            X509Certificate2? certificate = null;
            X509Certificate2? clientCa = null;
            if (clientTls is not null)
            {
                using var pem = X509Certificate2.CreateFromPemFile(clientTls.CertFile, clientTls.KeyFile);
                certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                if (clientTls.ClientCertAuth && clientTls.TrustedCaFile is { } ca)
                {
                    clientCa = X509CertificateLoader.LoadCertificateFromFile(ca);
                }
            }

            var streams = new StreamCounters(member.Id);
            var grpc = EtcdServices.Map(new GrpcServer(new GrpcServerOptions
            {
                MaxReceiveMessageBytes = EtcdLimits.MaxReceiveMessageBytes,
                WaitUntilReady = token => member.Published.IsCompleted ? Task.CompletedTask : member.Published.WaitAsync(token),
            }, loggers.CreateLogger("Trireme.Store.Grpc")), member, streams);
            var host = await GrpcHost.StartAsync(grpc, new GrpcHostOptions
            {
                Endpoints = endpoints,
                ServerCertificate = certificate,
                ClientCertificateAuthority = clientCa,
                LoggerFactory = loggers,
            }, cancellationToken).ConfigureAwait(false);
            return new StoreServer(member, host, streams);
        }
        catch
        {
            await member.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Graceful stop: hand leadership over first (near-zero failover), then close everything.</summary>
    public async Task StopAsync()
    {
        try
        {
            await Member.StepDownAsync().ConfigureAwait(false);
        }
        catch (Trireme.Grpc.GrpcException)
        {
            // Stopping anyway.
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync().ConfigureAwait(false);
        await Member.DisposeAsync().ConfigureAwait(false);
        Streams.Dispose();
    }

    /// <summary>Parses etcd's <c>--initial-cluster</c> (<c>name=url,name=url2,other=url3</c>).</summary>
    public static List<MemberInfo> ParseInitialCluster(string initialCluster)
    {
        ArgumentNullException.ThrowIfNull(initialCluster);
        var byName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var part in initialCluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !Uri.TryCreate(part[(eq + 1)..], UriKind.Absolute, out _))
            {
                throw new ArgumentException($"--initial-cluster entry '{part}' is not name=URL");
            }

            var name = part[..eq];
            if (!byName.TryGetValue(name, out var urls))
            {
                byName[name] = urls = [];
                order.Add(name);
            }

            urls.Add(part[(eq + 1)..].TrimEnd('/'));
        }

        return order.Select(n => new MemberInfo { Name = n, PeerUrls = byName[n] }).ToList();
    }

    public static IPEndPoint ParseListenUrl(string url) =>
        StoreMember.TryEndpoint(url, out var e) ? e : throw new ArgumentException($"'{url}' is not a URL with a host and port");
}
