using System.CommandLine;
using Trireme.Store;

namespace Trireme.Cli.Commands;

/// <summary><c>trireme store</c>: one member of the replicated store, with etcd's flag names.</summary>
public static class StoreCommand
{
    public static Command Create()
    {
        var command = new Command("store", "Run one member of the replicated store (etcd's role; etcd's flag names).");
        var name = Add(command, new Option<string>("--name") { Description = "Human-readable name for this member.", DefaultValueFactory = _ => "default" });
        var dataDir = Add(command, new Option<string?>("--data-dir") { Description = "Path to the data directory (default <name>.etcd)." });
        var listenClient = Add(command, new Option<string>("--listen-client-urls") { Description = "URLs to listen on for client traffic.", DefaultValueFactory = _ => "http://localhost:2379" });
        var advertiseClient = Add(command, new Option<string?>("--advertise-client-urls") { Description = "Client URLs advertised to the cluster." });
        var listenPeer = Add(command, new Option<string>("--listen-peer-urls") { Description = "URLs to listen on for peer traffic.", DefaultValueFactory = _ => "http://localhost:2380" });
        var advertisePeer = Add(command, new Option<string?>("--initial-advertise-peer-urls") { Description = "This member's peer URLs advertised to the cluster." });
        var initialCluster = Add(command, new Option<string?>("--initial-cluster") { Description = "Initial cluster configuration: name=peerURL,..." });
        var state = Add(command, new Option<string>("--initial-cluster-state") { Description = "new or existing.", DefaultValueFactory = _ => "new" });
        var token = Add(command, new Option<string>("--initial-cluster-token") { Description = "Initial cluster token (cluster identity).", DefaultValueFactory = _ => "etcd-cluster" });
        var heartbeat = Add(command, new Option<int>("--heartbeat-interval") { Description = "Time (ms) of a heartbeat interval.", DefaultValueFactory = _ => 100 });
        var election = Add(command, new Option<int>("--election-timeout") { Description = "Time (ms) for an election to timeout.", DefaultValueFactory = _ => 1000 });
        var snapshotCount = Add(command, new Option<ulong>("--snapshot-count") { Description = "Applied entries between snapshots (etcd's rule; once a snapshot is 64 MiB or more, the next also waits for half its size in new entries, up to 10x this count).", DefaultValueFactory = _ => Trireme.Store.Host.StoreMemberOptions.DefaultSnapshotCount });
        var quota = Add(command, new Option<long>("--quota-backend-bytes") { Description = "Raise an alarm when the store exceeds this size (0 = 2 GiB default)." });
        var certFile = Add(command, new Option<string?>("--cert-file") { Description = "Client server TLS cert file." });
        var keyFile = Add(command, new Option<string?>("--key-file") { Description = "Client server TLS key file." });
        var trustedCa = Add(command, new Option<string?>("--trusted-ca-file") { Description = "Client server TLS trusted CA file." });
        var clientCertAuth = Add(command, new Option<bool>("--client-cert-auth") { Description = "Enable client cert authentication." });
        var peerCert = Add(command, new Option<string?>("--peer-cert-file") { Description = "Peer server TLS cert file." });
        var peerKey = Add(command, new Option<string?>("--peer-key-file") { Description = "Peer server TLS key file." });
        var peerCa = Add(command, new Option<string?>("--peer-trusted-ca-file") { Description = "Peer server TLS trusted CA file." });
        var peerCertAuth = Add(command, new Option<bool>("--peer-client-cert-auth") { Description = "Enable peer client cert authentication (always on with peer TLS)." });
        var logLevel = Add(command, new Option<string>("--log-level") { Description = "debug, info, warning or error.", DefaultValueFactory = _ => "info" });
        command.SetAction((parse, ct) => StoreProcess.RunAsync(new StoreFlags
        {
            Name = parse.GetValue(name)!,
            DataDir = parse.GetValue(dataDir),
            ListenClientUrls = parse.GetValue(listenClient)!,
            AdvertiseClientUrls = parse.GetValue(advertiseClient),
            ListenPeerUrls = parse.GetValue(listenPeer)!,
            InitialAdvertisePeerUrls = parse.GetValue(advertisePeer),
            InitialCluster = parse.GetValue(initialCluster),
            InitialClusterState = parse.GetValue(state)!,
            InitialClusterToken = parse.GetValue(token)!,
            HeartbeatInterval = parse.GetValue(heartbeat),
            ElectionTimeout = parse.GetValue(election),
            SnapshotCount = parse.GetValue(snapshotCount),
            QuotaBackendBytes = parse.GetValue(quota),
            CertFile = parse.GetValue(certFile),
            KeyFile = parse.GetValue(keyFile),
            TrustedCaFile = parse.GetValue(trustedCa),
            ClientCertAuth = parse.GetValue(clientCertAuth),
            PeerCertFile = parse.GetValue(peerCert),
            PeerKeyFile = parse.GetValue(peerKey),
            PeerTrustedCaFile = parse.GetValue(peerCa),
            PeerClientCertAuth = parse.GetValue(peerCertAuth),
            LogLevel = parse.GetValue(logLevel)!,
        }, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    private static Option<T> Add<T>(Command command, Option<T> option)
    {
        command.Options.Add(option);
        return option;
    }
}
