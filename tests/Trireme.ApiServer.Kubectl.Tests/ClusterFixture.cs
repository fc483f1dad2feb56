// The shared cluster for the kubectl tests: a store (one derived fixture per backend), `trireme pki
// init`, and two `trireme apiserver` processes (A and B) on free loopback ports over that one store,
// so tests can write through one server and read or watch through the other. Everything is started by
// PID and stopped by PID in DisposeAsync; kubectl runs with its own HOME so its discovery cache is ours.
// Backends: EtcdBackend (one real etcd 3.4 member; both servers on it) and TriremeStoreBackend (three
// `trireme store` processes; A on member 1, B on member 2, so the servers are active-active).
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Trireme.Testing;

namespace Trireme.ApiServer.Kubectl.Tests;

public abstract partial class ClusterFixture : IAsyncLifetime
{
    public static string? KubectlPath => ChildProcess.FindExecutable("kubectl");

    /// <summary>Why this backend's tests cannot run here, or null.</summary>
    public virtual string? SkipReason => KubectlPath is null ? "kubectl is not installed" : null;

    private readonly TempDirectory _dir = new("trireme-kubectl");
    private readonly List<ChildProcess> _servers = [];

    public string Dir => _dir.Path;
    public string KubeconfigA => Path.Combine(Dir, "pki", "admin.conf");
    public string KubeconfigB => Path.Combine(Dir, "admin-b.conf");
    public int PortA { get; private set; }
    public int PortB { get; private set; }
    public string ServerLogs => string.Join("\n---\n", _servers.Select(s => s.OutputTail)) + "\n" + StoreLogs;

    /// <summary>The store's recent output, appended to failure messages.</summary>
    protected abstract string StoreLogs { get; }

    /// <summary>Starts the store; returns the --etcd-servers value for API server A and for B.</summary>
    protected abstract Task<(string ServerA, string ServerB)> StartStoreAsync();

    protected abstract void StopStore();

    public static string TriremeDll => Path.Combine(AppContext.BaseDirectory, "trireme.dll");

    public async ValueTask InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        var (storeA, storeB) = await StartStoreAsync();
        PortA = FreePort.Get(IPAddress.Loopback);
        PortB = FreePort.Get(IPAddress.Loopback);
        var pki = Path.Combine(Dir, "pki");
        var (code, output, error) = await ChildProcess.RunAsync("dotnet",
            [TriremeDll, "pki", "init", "--dir", pki, "--server", $"https://127.0.0.1:{PortA}"]);
        Assert.True(code == 0, output + error);
        File.WriteAllText(KubeconfigB, File.ReadAllText(KubeconfigA).Replace($":{PortA}", $":{PortB}", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(Dir, "tokens.csv"), "s3cr3t-token,alice,1001,\"devs\"\n");
        foreach (var (port, store) in new[] { (PortA, storeA), (PortB, storeB) })
        {
            _servers.Add(ChildProcess.Start("dotnet",
            [
                TriremeDll, "apiserver", "--etcd-servers", store,
                "--bind-address", "127.0.0.1", "--secure-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tls-cert-file", Path.Combine(pki, "apiserver.crt"), "--tls-private-key-file", Path.Combine(pki, "apiserver.key"),
                "--client-ca-file", Path.Combine(pki, "ca.crt"), "--token-auth-file", Path.Combine(Dir, "tokens.csv"),
            ]));
        }

        foreach (var kubeconfig in new[] { KubeconfigA, KubeconfigB })
        {
            await Poll.UntilAsync(async () => (await KubectlOnAsync(kubeconfig, "get", "--raw", "/readyz")).Output == "ok",
                TimeSpan.FromSeconds(120), $"apiserver behind {kubeconfig} ready; logs:\n{ServerLogs}");
        }
    }

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"rc={ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    public Task<Result> KubectlAsync(params string[] args) => KubectlOnAsync(KubeconfigA, args);

    public async Task<Result> KubectlOnAsync(string kubeconfig, params string[] args)
    {
        var env = new Dictionary<string, string> { ["HOME"] = Dir, ["KUBECONFIG"] = kubeconfig };
        var (code, output, error) = await ChildProcess.RunAsync(KubectlPath!, args, env, TimeSpan.FromSeconds(90));
        return new Result(code, output.TrimEnd('\n'), error);
    }

    /// <summary>kubectl that must succeed; the failure message carries its output and the servers' logs.</summary>
    public async Task<string> OkAsync(params string[] args) => await OkOnAsync(KubeconfigA, args);

    public async Task<string> OkOnAsync(string kubeconfig, params string[] args)
    {
        var result = await KubectlOnAsync(kubeconfig, args);
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed: {result}\nserver logs:\n{ServerLogs}");
        return result.Output;
    }

    /// <summary>A long-running kubectl (get -w, wait) whose output the test polls.</summary>
    public ChildProcess StartKubectl(string kubeconfig, params string[] args) =>
        ChildProcess.Start(KubectlPath!, args, new Dictionary<string, string> { ["HOME"] = Dir, ["KUBECONFIG"] = kubeconfig });

    /// <summary>Splits a kubectl table line into its columns (separated by two or more spaces).</summary>
    public static string[] Columns(string line) => ColumnGap().Split(line.Trim());

    [GeneratedRegex(" {2,}")]
    private static partial Regex ColumnGap();

    public ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            s.Dispose();
        }

        StopStore();

        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Backend (b): one real etcd 3.4 member under both API servers.</summary>
public sealed class EtcdBackend : ClusterFixture
{
    private RealEtcd? _etcd;

    public override string? SkipReason => base.SkipReason ?? (EtcdCluster.IsAvailable ? null : "etcd is not installed");

    protected override string StoreLogs => _etcd is null ? "" : "--- etcd:\n" + _etcd.OutputTail;

    protected override async Task<(string ServerA, string ServerB)> StartStoreAsync()
    {
        _etcd = await RealEtcd.StartAsync();
        return (_etcd.ClientUrl, _etcd.ClientUrl);
    }

    protected override void StopStore() => _etcd?.Dispose();
}

/// <summary>Backend (a): a 3-member `trireme store` cluster; server A on member 1, B on member 2.</summary>
public sealed class TriremeStoreBackend : ClusterFixture
{
    private TriremeStoreMembers? _store;

    protected override string StoreLogs => _store?.Logs ?? "";

    protected override Task<(string ServerA, string ServerB)> StartStoreAsync()
    {
        _store = new TriremeStoreMembers(TriremeDll);
        return Task.FromResult((_store.ClientUrls[0], _store.ClientUrls[1]));
    }

    protected override void StopStore() => _store?.Dispose();
}
