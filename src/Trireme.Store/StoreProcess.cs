using Microsoft.Extensions.Logging;
using Trireme.Store.Host;
using Trireme.Store.Transport;
using Trireme.Store.Wal;

namespace Trireme.Store;

/// <summary>etcd's command-line settings, as <c>trireme store</c> parses them.</summary>
public sealed record StoreFlags
{
    public string Name { get; init; } = "default";
    public string? DataDir { get; init; }
    public string ListenClientUrls { get; init; } = "http://localhost:2379";
    public string? AdvertiseClientUrls { get; init; }
    public string ListenPeerUrls { get; init; } = "http://localhost:2380";
    public string? InitialAdvertisePeerUrls { get; init; }
    public string? InitialCluster { get; init; }
    public string InitialClusterState { get; init; } = "new";
    public string InitialClusterToken { get; init; } = "etcd-cluster";
    public int HeartbeatInterval { get; init; } = 100;
    public int ElectionTimeout { get; init; } = 1000;
    public ulong SnapshotCount { get; init; } = StoreMemberOptions.DefaultSnapshotCount;
    public long QuotaBackendBytes { get; init; }
    public string? CertFile { get; init; }
    public string? KeyFile { get; init; }
    public string? TrustedCaFile { get; init; }
    public bool ClientCertAuth { get; init; }
    public string? PeerCertFile { get; init; }
    public string? PeerKeyFile { get; init; }
    public string? PeerTrustedCaFile { get; init; }
    public bool PeerClientCertAuth { get; init; }
    public string LogLevel { get; init; } = "info";
}

/// <summary>Runs one store member until cancelled (SIGTERM/Ctrl-C), then stops it gracefully.</summary>
public static class StoreProcess
{
    public static async Task<int> RunAsync(StoreFlags flags, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        using var loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(Enum.TryParse<LogLevel>(flags.LogLevel, true, out var level) ? level : LogLevel.Information)
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
            .AddFilter("Microsoft.Hosting", LogLevel.Warning));
        // Kestrel's host installs its own SIGTERM/SIGINT handling (it stops only the web server), so the
        // member registers too: every registration is invoked, and this one drives the graceful stop.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        cancellationToken = stop.Token;
        StoreServer server;
        try
        {
            var (options, listenClient, clientTls) = Build(flags);
            server = await StoreServer.StartAsync(options, listenClient, clientTls, loggers, cancellationToken).ConfigureAwait(false);
        }
        catch (WalCorruptException e)
        {
            await error.WriteLineAsync($"trireme store: {e.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"trireme store: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await output.WriteLineAsync(
            $"trireme store: member {flags.Name} ({server.Member.Id:x16}) of cluster {server.Member.ClusterId:x16} " +
            $"serving clients on {string.Join(",", server.Host.Endpoints)}, peers on {server.Member.PeerEndpoint}").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM / Ctrl-C: stop gracefully below.
        }

        await server.StopAsync().ConfigureAwait(false);
        await output.WriteLineAsync($"trireme store: member {flags.Name} stopped").ConfigureAwait(false);
        return 0;
    }

    public static (StoreMemberOptions Options, IReadOnlyList<string> ListenClientUrls, ClientTlsFiles? ClientTls) Build(StoreFlags flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var peerUrls = Split(flags.InitialAdvertisePeerUrls ?? flags.ListenPeerUrls);
        var initial = flags.InitialCluster is { Length: > 0 } ic
            ? StoreServer.ParseInitialCluster(ic)
            : [new MemberInfo { Name = flags.Name, PeerUrls = peerUrls }];
        if (!initial.Any(m => m.Name == flags.Name))
        {
            throw new ArgumentException($"--initial-cluster has no entry for --name {flags.Name}");
        }

        if (flags.InitialClusterState is not ("new" or "existing"))
        {
            throw new ArgumentException("--initial-cluster-state must be new or existing");
        }

        var listenClient = Split(flags.ListenClientUrls);
        PeerTlsOptions? peerTls = flags.PeerCertFile is { } pc && flags.PeerKeyFile is { } pk && flags.PeerTrustedCaFile is { } pca
            ? PeerTlsOptions.FromPemFiles(pc, pk, pca)
            : null;
        ClientTlsFiles? clientTls = flags.CertFile is { } cf && flags.KeyFile is { } kf
            ? new ClientTlsFiles(cf, kf, flags.TrustedCaFile, flags.ClientCertAuth)
            : null;
        var options = new StoreMemberOptions
        {
            Name = flags.Name,
            DataDir = flags.DataDir ?? $"{flags.Name}.etcd",
            ClusterToken = flags.InitialClusterToken,
            InitialMembers = initial,
            NewCluster = flags.InitialClusterState == "new",
            PeerListen = StoreServer.ParseListenUrl(Split(flags.ListenPeerUrls)[0]),
            AdvertiseClientUrls = Split(flags.AdvertiseClientUrls ?? flags.ListenClientUrls),
            PeerTls = peerTls,
            HeartbeatMilliseconds = flags.HeartbeatInterval,
            ElectionMilliseconds = flags.ElectionTimeout,
            SnapshotCount = flags.SnapshotCount,
            QuotaBytes = flags.QuotaBackendBytes > 0 ? flags.QuotaBackendBytes : Trireme.Store.Core.StoreOptions.DefaultQuotaBytes,
        };
        return (options, listenClient, clientTls);
    }

    private static List<string> Split(string urls) =>
        urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => u.TrimEnd('/')).ToList();
}
