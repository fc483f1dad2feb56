// The shared cluster for the kubectl tests: one real etcd 3.4 member, `trireme pki init`, and two
// `trireme apiserver` processes (A and B) on free loopback ports over that one etcd, so tests can
// write through one server and read or watch through the other. Everything is started by PID and
// stopped by PID in DisposeAsync; kubectl runs with its own HOME so its discovery cache is ours.
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Trireme.Testing;

namespace Trireme.ApiServer.Kubectl.Tests;

public sealed partial class ClusterFixture : IAsyncLifetime
{
    public static string? KubectlPath => ChildProcess.FindExecutable("kubectl");

    public static string? SkipReason =>
        KubectlPath is null ? "kubectl is not installed" : !EtcdCluster.IsAvailable ? "etcd is not installed" : null;

    private readonly TempDirectory _dir = new("trireme-kubectl");
    private RealEtcd? _etcd;
    private readonly List<ChildProcess> _servers = [];

    public string Dir => _dir.Path;
    public string KubeconfigA => Path.Combine(Dir, "pki", "admin.conf");
    public string KubeconfigB => Path.Combine(Dir, "admin-b.conf");
    public int PortA { get; private set; }
    public int PortB { get; private set; }
    public string ServerLogs => string.Join("\n---\n", _servers.Select(s => s.OutputTail));

    public static string TriremeDll => Path.Combine(AppContext.BaseDirectory, "trireme.dll");

    public async ValueTask InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        _etcd = await RealEtcd.StartAsync();
        PortA = FreePort.Get(IPAddress.Loopback);
        PortB = FreePort.Get(IPAddress.Loopback);
        var pki = Path.Combine(Dir, "pki");
        var (code, output, error) = await ChildProcess.RunAsync("dotnet",
            [TriremeDll, "pki", "init", "--dir", pki, "--server", $"https://127.0.0.1:{PortA}"]);
        Assert.True(code == 0, output + error);
        File.WriteAllText(KubeconfigB, File.ReadAllText(KubeconfigA).Replace($":{PortA}", $":{PortB}", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(Dir, "tokens.csv"), "s3cr3t-token,alice,1001,\"devs\"\n");
        foreach (var port in new[] { PortA, PortB })
        {
            _servers.Add(ChildProcess.Start("dotnet",
            [
                TriremeDll, "apiserver", "--etcd-servers", _etcd.ClientUrl,
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

        _etcd?.Dispose();

        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}
