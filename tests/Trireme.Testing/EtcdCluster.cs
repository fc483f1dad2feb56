using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Trireme.Testing;

/// <summary>
/// A real etcd 3.4 cluster of child processes for tests: N members on loopback addresses
/// (127.0.0.1 by default) with free ports, one temp data dir each, waited on until every member
/// answers /health; members can be killed (kill -9 by PID) and restarted. Dispose kills everything
/// and deletes the data. <see cref="IsAvailable"/> is false when the etcd binary is not installed,
/// so callers can skip.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private readonly TempDirectory _dataRoot = new("trireme-etcd");
    private readonly EtcdMember[] _members;
    private readonly string _initialCluster;
    private readonly string _token;

    private EtcdCluster(EtcdMember[] members, string token, bool tls)
    {
        _members = members;
        Tls = tls;
        _token = token;
        _initialCluster = string.Join(',', members.Select(m => $"{m.Name}={Url(m.PeerUrl)}"));
    }

    /// <summary>True when client URLs are https with client-certificate auth (--client-cert-auth).</summary>
    public bool Tls { get; }

    /// <summary>With TLS: PEM files for --cacert/--cert/--key (kube-apiserver's --etcd-cafile/--etcd-certfile/--etcd-keyfile).</summary>
    public string? CaFile { get; private set; }

    public string? ClientCertFile { get; private set; }

    public string? ClientKeyFile { get; private set; }

    private string? _serverCertFile;
    private string? _serverKeyFile;

    public static string? EtcdPath => ChildProcess.FindExecutable("etcd");

    public static string? EtcdctlPath => ChildProcess.FindExecutable("etcdctl");

    public static bool IsAvailable => EtcdPath is not null;

    public IReadOnlyList<EtcdMember> Members => _members;

    /// <summary>Client URLs of all members, e.g. for a client's endpoint list.</summary>
    public IReadOnlyList<Uri> ClientUrls => _members.Select(m => m.ClientUrl).ToList();

    /// <summary>Starts <paramref name="size"/> members on <paramref name="address"/> (default 127.0.0.1) and waits until all are healthy.</summary>
    public static async Task<EtcdCluster> StartAsync(int size = 1, IPAddress? address = null, TimeSpan? timeout = null, bool tls = false)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("etcd is not installed");
        }

        address ??= IPAddress.Loopback;
        var members = new EtcdMember[size];
        for (int i = 0; i < size; i++)
        {
            string host = address.ToString();
            members[i] = new EtcdMember(
                $"m{i}",
                new Uri($"{(tls ? "https" : "http")}://{host}:{FreePort.Get(address)}"),
                new Uri($"http://{host}:{FreePort.Get(address)}"));
        }

        var cluster = new EtcdCluster(members, "trireme-test-" + Guid.NewGuid().ToString("N")[..12], tls);
        try
        {
            if (tls)
            {
                cluster.WriteCertificates(address);
            }

            for (int i = 0; i < size; i++)
            {
                cluster.StartMember(i);
            }

            await cluster.WaitHealthyAsync(timeout).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts (or restarts, keeping its data) member <paramref name="index"/>.</summary>
    public void StartMember(int index)
    {
        EtcdMember member = _members[index];
        if (member.Process is { HasExited: false })
        {
            return;
        }

        member.Process?.Dispose();
        string dataDir = Path.Combine(_dataRoot.Path, member.Name);
        member.Process = ChildProcess.Start(EtcdPath!,
        [
            "--name", member.Name,
            "--data-dir", dataDir,
            "--listen-client-urls", Url(member.ClientUrl),
            "--advertise-client-urls", Url(member.ClientUrl),
            "--listen-peer-urls", Url(member.PeerUrl),
            "--initial-advertise-peer-urls", Url(member.PeerUrl),
            "--initial-cluster", _initialCluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", _token,
            "--logger", "zap",
            "--log-level", "warn",
            .. (Tls ? new[] { "--cert-file", _serverCertFile!, "--key-file", _serverKeyFile!, "--trusted-ca-file", CaFile!, "--client-cert-auth" } : []),
        ]);
    }

    private void WriteCertificates(IPAddress address)
    {
        using var ca = TestPki.CreateAuthority("trireme-test-etcd-ca");
        using var server = TestPki.Issue(ca, "etcd", [address, IPAddress.Loopback], ["localhost"]);
        using var client = TestPki.Issue(ca, "trireme-client");
        CaFile = TestPki.WritePem(ca, _dataRoot.Path, "ca").CertFile;
        (_serverCertFile, _serverKeyFile) = TestPki.WritePem(server, _dataRoot.Path, "server");
        (ClientCertFile, ClientKeyFile) = TestPki.WritePem(client, _dataRoot.Path, "client");
    }

    private HttpClient HealthClient()
    {
        if (!Tls)
        {
            return new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        }

        var authority = X509CertificateLoader.LoadCertificateFromFile(CaFile!);
        var client = X509Certificate2.CreateFromPemFile(ClientCertFile!, ClientKeyFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(client.Export(X509ContentType.Pkcs12), null)];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(authority);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is X509Certificate2 c && chain.Build(c);
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>kill -9 of one member (by its PID); its data stays for <see cref="StartMember"/>.</summary>
    public void KillMember(int index) => _members[index].Process?.Kill();

    public async Task WaitHealthyAsync(TimeSpan? timeout = null)
    {
        using var http = HealthClient();
        foreach (EtcdMember member in _members.Where(m => m.Process is { HasExited: false }))
        {
            await Poll.UntilAsync(async () =>
            {
                if (member.Process!.HasExited)
                {
                    return true;
                }

                string body = await http.GetStringAsync(new Uri(member.ClientUrl, "/health")).ConfigureAwait(false);
                return body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
            }, timeout ?? TimeSpan.FromSeconds(90), $"etcd {member.Name} at {member.ClientUrl} to be healthy").ConfigureAwait(false);
            if (member.Process!.HasExited)
            {
                throw new InvalidOperationException($"etcd {member.Name} exited: {member.Process.OutputTail}");
            }
        }
    }

    /// <summary>Runs real etcdctl (API v3) against this cluster's endpoints.</summary>
    public Task<(int ExitCode, string StdOut, string StdErr)> EtcdctlAsync(params string[] arguments) =>
        RunEtcdctlAsync(ClientUrls, Tls ? [$"--cacert={CaFile}", $"--cert={ClientCertFile}", $"--key={ClientKeyFile}", .. arguments] : arguments);

    public static Task<(int ExitCode, string StdOut, string StdErr)> RunEtcdctlAsync(IEnumerable<Uri> endpoints, IEnumerable<string> arguments)
    {
        string path = EtcdctlPath ?? throw new InvalidOperationException("etcdctl is not installed");
        string list = string.Join(',', endpoints.Select(Url));
        return ChildProcess.RunAsync(path, new[] { "--endpoints", list, "--dial-timeout", "10s", "--command-timeout", "30s" }.Concat(arguments),
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
    }

    /// <summary>scheme://host:port without the trailing slash Uri.ToString adds (etcd rejects paths).</summary>
    public static string Url(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.GetLeftPart(UriPartial.Authority);
    }

    public ValueTask DisposeAsync()
    {
        foreach (EtcdMember member in _members)
        {
            member.Process?.Dispose();
        }

        _dataRoot.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One member of an <see cref="EtcdCluster"/>.</summary>
public sealed class EtcdMember
{
    internal EtcdMember(string name, Uri clientUrl, Uri peerUrl)
    {
        Name = name;
        ClientUrl = clientUrl;
        PeerUrl = peerUrl;
    }

    public string Name { get; }

    public Uri ClientUrl { get; }

    public Uri PeerUrl { get; }

    internal ChildProcess? Process { get; set; }

    public int? Pid => Process?.Pid;

    public bool IsRunning => Process is { HasExited: false };

    public string OutputTail => Process?.OutputTail ?? "";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} {ClientUrl}");
}
