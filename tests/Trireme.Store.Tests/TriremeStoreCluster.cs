using System.Net;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests;

/// <summary>
/// N real <c>trireme store</c> processes on 127.0.0.21.. with free ports, for the etcdctl and crash tests.
/// Members are stopped by their own PIDs on dispose; data lives in a temp dir removed afterwards.
/// </summary>
internal sealed class TriremeStoreCluster : IAsyncDisposable
{
    internal sealed class Member(string name, IPAddress address, int clientPort, int peerPort, string dataDir)
    {
        public string Name { get; } = name;
        public Uri ClientUrl { get; } = new($"http://{address}:{clientPort}");
        public Uri PeerUrl { get; } = new($"http://{address}:{peerPort}");
        public string DataDir { get; } = dataDir;
        public ChildProcess? Process { get; set; }

        /// <summary>Safe to ask from any thread while the member is being restarted: a process object
        /// disposed under the caller counts as not running.</summary>
        public bool IsRunning
        {
            get
            {
                try
                {
                    return Process is { HasExited: false };
                }
                catch (InvalidOperationException)
                {
                    return false;
                }
            }
        }
    }

    private readonly TempDirectory _root = new("trireme-store-cluster");
    private readonly List<Member> _members = [];
    private readonly string _token = "t-" + Guid.NewGuid().ToString("N")[..10];
    private readonly int _snapshotCount;
    private readonly int _heartbeatMilliseconds;
    private readonly int _electionMilliseconds;
    private readonly IReadOnlyList<string> _extraArguments;

    private TriremeStoreCluster(int snapshotCount, int heartbeatMilliseconds, int electionMilliseconds, IReadOnlyList<string> extraArguments)
    {
        _extraArguments = extraArguments;
        _snapshotCount = snapshotCount;
        _heartbeatMilliseconds = heartbeatMilliseconds;
        _electionMilliseconds = electionMilliseconds;
    }

    public IReadOnlyList<Member> Members => _members;

    public IEnumerable<Uri> LiveClientUrls => _members.Where(m => m.IsRunning).Select(m => m.ClientUrl);

    public string InitialCluster => string.Join(",", _members.Select(m => $"{m.Name}={m.PeerUrl.ToString().TrimEnd('/')}"));

    /// <summary>The trireme executable built next to this test assembly (same configuration).</summary>
    public static string TriremePath
    {
        get
        {
            var testDir = AppContext.BaseDirectory; // .../tests/Trireme.Store.Tests/bin/<Config>/net10.0/
            var marker = Path.Combine("tests", "Trireme.Store.Tests");
            var index = testDir.LastIndexOf(marker, StringComparison.Ordinal);
            var repo = testDir[..index];
            var rest = testDir[(index + marker.Length)..];
            return Path.Combine(repo, "src", "Trireme.Cli") + rest + "trireme";
        }
    }

    public static async Task<TriremeStoreCluster> StartAsync(int size = 3, int snapshotCount = 10_000,
        int heartbeatMilliseconds = 100, int electionMilliseconds = 1000, IReadOnlyList<string>? extraArguments = null)
    {
        var cluster = new TriremeStoreCluster(snapshotCount, heartbeatMilliseconds, electionMilliseconds, extraArguments ?? []);
        for (var i = 0; i < size; i++)
        {
            var address = IPAddress.Parse($"127.0.0.{21 + i}");
            cluster._members.Add(new Member($"m{i + 1}", address, FreePort.Get(address), FreePort.Get(address),
                Path.Combine(cluster._root.Path, $"m{i + 1}")));
        }

        try
        {
            for (var i = 0; i < size; i++)
            {
                cluster.StartMember(i);
            }

            await cluster.WaitLeaderAsync().ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public void StartMember(int index, string state = "new", string? initialCluster = null)
    {
        var m = _members[index];
        var previous = m.Process;
        m.Process = ChildProcess.Start(TriremePath,
        [
            "store", "--name", m.Name, "--data-dir", m.DataDir,
            "--listen-client-urls", m.ClientUrl.ToString().TrimEnd('/'),
            "--advertise-client-urls", m.ClientUrl.ToString().TrimEnd('/'),
            "--listen-peer-urls", m.PeerUrl.ToString().TrimEnd('/'),
            "--initial-advertise-peer-urls", m.PeerUrl.ToString().TrimEnd('/'),
            "--initial-cluster", initialCluster ?? InitialCluster, "--initial-cluster-state", state,
            "--initial-cluster-token", _token, "--snapshot-count", _snapshotCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--heartbeat-interval", _heartbeatMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--election-timeout", _electionMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--log-level", "warning",
            .. _extraArguments,
        ]);
        previous?.Dispose(); // after the swap, so concurrent readers of Process rarely see a disposed one
    }

    /// <summary>Adds a member definition (not started) on the next address.</summary>
    public Member AddMemberDefinition()
    {
        var address = IPAddress.Parse($"127.0.0.{21 + _members.Count}");
        var m = new Member($"m{_members.Count + 1}", address, FreePort.Get(address), FreePort.Get(address),
            Path.Combine(_root.Path, $"m{_members.Count + 1}"));
        _members.Add(m);
        return m;
    }

    /// <summary>kill -9.</summary>
    public void Kill(int index) => _members[index].Process?.Kill();

    /// <summary>SIGTERM (graceful stop) and wait for the exit.</summary>
    public async Task TerminateAsync(int index)
    {
        var m = _members[index];
        if (m.Process is { HasExited: false } p)
        {
            await ChildProcess.RunAsync("kill", ["-TERM", p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]).ConfigureAwait(false);
            await Poll.UntilAsync(() => p.HasExited, TimeSpan.FromSeconds(30), $"{m.Name} to exit after SIGTERM").ConfigureAwait(false);
        }
    }

    public static async Task<Pb.StatusResponse> StatusAsync(Uri clientUrl)
    {
        using var channel = new GrpcChannel(clientUrl);
        return await channel.UnaryAsync(EtcdMethods.Status, new Pb.StatusRequest(), Pb.StatusResponse.Parser,
            new CallOptions(TimeSpan.FromSeconds(3))).ConfigureAwait(false);
    }

    /// <summary>Waits until every running member reports the same leader; returns the leader's index.</summary>
    public async Task<int> WaitLeaderAsync(TimeSpan? timeout = null)
    {
        var leaderIndex = -1;
        await Poll.UntilAsync(async () =>
        {
            foreach (var m in _members.Where(m => m.Process is not null && m.Process.HasExited))
            {
                _ = m; // a crashed member is allowed (tests kill members); only running ones must agree
            }

            var running = _members.Where(m => m.IsRunning).ToList();
            var statuses = new List<Pb.StatusResponse>();
            foreach (var m in running)
            {
                statuses.Add(await StatusAsync(m.ClientUrl).ConfigureAwait(false));
            }

            var leader = statuses[0].Leader;
            if (leader == 0 || statuses.Any(s => s.Leader != leader))
            {
                return false;
            }

            var index = statuses.FindIndex(s => s.Header.MemberId == leader);
            leaderIndex = index < 0 ? -1 : _members.IndexOf(running[index]);
            return leaderIndex >= 0;
        }, timeout ?? TimeSpan.FromSeconds(90), "a leader all running members agree on").ConfigureAwait(false);
        return leaderIndex;
    }

    public Task<(int ExitCode, string StdOut, string StdErr)> EtcdctlAsync(params string[] arguments) =>
        EtcdCluster.RunEtcdctlAsync(LiveClientUrls, arguments);

    public Task<(int ExitCode, string StdOut, string StdErr)> EtcdctlAtAsync(int index, params string[] arguments) =>
        EtcdCluster.RunEtcdctlAsync([_members[index].ClientUrl], arguments);

    public string Logs => string.Join("\n", _members.Select(m => $"--- {m.Name}:\n{m.Process?.OutputTail}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var m in _members)
        {
            m.Process?.Dispose();
        }

        await Task.CompletedTask.ConfigureAwait(false);
        _root.Dispose();
    }
}
