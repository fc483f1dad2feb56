using System.Globalization;
using System.Net;

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

    private EtcdCluster(EtcdMember[] members, string token)
    {
        _members = members;
        _token = token;
        _initialCluster = string.Join(',', members.Select(m => $"{m.Name}={m.PeerUrl}"));
    }

    public static string? EtcdPath => ChildProcess.FindExecutable("etcd");

    public static string? EtcdctlPath => ChildProcess.FindExecutable("etcdctl");

    public static bool IsAvailable => EtcdPath is not null;

    public IReadOnlyList<EtcdMember> Members => _members;

    /// <summary>Client URLs of all members, e.g. for a client's endpoint list.</summary>
    public IReadOnlyList<Uri> ClientUrls => _members.Select(m => m.ClientUrl).ToList();

    /// <summary>Starts <paramref name="size"/> members on <paramref name="address"/> (default 127.0.0.1) and waits until all are healthy.</summary>
    public static async Task<EtcdCluster> StartAsync(int size = 1, IPAddress? address = null, TimeSpan? timeout = null)
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
                new Uri($"http://{host}:{FreePort.Get(address)}"),
                new Uri($"http://{host}:{FreePort.Get(address)}"));
        }

        var cluster = new EtcdCluster(members, "trireme-test-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
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
            "--listen-client-urls", member.ClientUrl.ToString().TrimEnd('/'),
            "--advertise-client-urls", member.ClientUrl.ToString().TrimEnd('/'),
            "--listen-peer-urls", member.PeerUrl.ToString().TrimEnd('/'),
            "--initial-advertise-peer-urls", member.PeerUrl.ToString().TrimEnd('/'),
            "--initial-cluster", _initialCluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", _token,
            "--logger", "zap",
            "--log-level", "warn",
        ]);
    }

    /// <summary>kill -9 of one member (by its PID); its data stays for <see cref="StartMember"/>.</summary>
    public void KillMember(int index) => _members[index].Process?.Kill();

    public async Task WaitHealthyAsync(TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (EtcdMember member in _members.Where(m => m.Process is { HasExited: false }))
        {
            await Poll.UntilAsync(async () =>
            {
                if (member.Process!.HasExited)
                {
                    throw new InvalidOperationException($"etcd {member.Name} exited: {member.Process.OutputTail}");
                }

                string body = await http.GetStringAsync(new Uri(member.ClientUrl, "/health")).ConfigureAwait(false);
                return body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
            }, timeout ?? TimeSpan.FromSeconds(90), $"etcd {member.Name} at {member.ClientUrl} to be healthy").ConfigureAwait(false);
        }
    }

    /// <summary>Runs real etcdctl (API v3) against this cluster's endpoints.</summary>
    public Task<(int ExitCode, string StdOut, string StdErr)> EtcdctlAsync(params string[] arguments) =>
        RunEtcdctlAsync(ClientUrls, arguments);

    public static Task<(int ExitCode, string StdOut, string StdErr)> RunEtcdctlAsync(IEnumerable<Uri> endpoints, IEnumerable<string> arguments)
    {
        string path = EtcdctlPath ?? throw new InvalidOperationException("etcdctl is not installed");
        string list = string.Join(',', endpoints.Select(e => e.ToString().TrimEnd('/')));
        return ChildProcess.RunAsync(path, new[] { "--endpoints", list, "--dial-timeout", "10s", "--command-timeout", "30s" }.Concat(arguments),
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
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
