using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Trireme.Pki;
using static Trireme.Cli.Commands.UpCommand;

namespace Trireme.Cli.Composition;

/// <summary>
/// The roles `trireme up` starts after the store: PKI, one API server per node, one VIP-gated edge
/// (`trireme lb --vip-config`, keepalived + HAProxy) per node. Every role runs as a child `trireme`
/// process with its log under DATA/logs, so kill -9 of one node's role is a real process failure.
/// </summary>
internal static class UpRoles
{
    public const int Nodes = 3;

    /// <summary>Node n (1-based) is the VIP's address plus n: 127.0.0.10 → .11, .12, .13.</summary>
    public static string NodeAddress(string vip, int node)
    {
        var bytes = IPAddress.Parse(vip).GetAddressBytes();
        bytes[3] = checked((byte)(bytes[3] + node));
        return new IPAddress(bytes).ToString();
    }

    /// <summary>(a) cluster CA, serving certificate (VIP, node addresses, localhost) and admin.conf
    /// pointing at the VIP; kept on rerun so existing kubeconfigs stay valid.</summary>
    public sealed class PkiRole : IUpRole
    {
        public string Name => "pki";

        public async Task StartAsync(UpContext context, CancellationToken cancellationToken)
        {
            var adminConf = Path.Combine(context.PkiDir, "admin.conf");
            if (File.Exists(adminConf))
            {
                await context.Output.WriteLineAsync($"  reusing {context.PkiDir}").ConfigureAwait(false);
                return;
            }

            var sans = new List<string> { context.Vip, "localhost", "127.0.0.1" };
            sans.AddRange(Enumerable.Range(1, Nodes).Select(context.NodeAddress));
            ClusterPki.Init(context.PkiDir, sans, $"https://{context.Vip}:{context.LbPort}", DateTimeOffset.UtcNow);
            await context.Output.WriteLineAsync($"  wrote ca.crt, apiserver.crt, admin.conf into {context.PkiDir}").ConfigureAwait(false);
        }

        public Task StopAsync() => Task.CompletedTask;
    }

    /// <summary>(b) an API server per node over that node's store member, ready when /readyz answers
    /// 200 to the admin client certificate.</summary>
    public sealed class ApiServerRole : IUpRole
    {
        private readonly List<Child> _children = [];

        public string Name => $"API servers ({Nodes})";

        public async Task StartAsync(UpContext context, CancellationToken cancellationToken)
        {
            for (var node = 1; node <= Nodes; node++)
            {
                var address = context.NodeAddress(node);
                _children.Add(Child.Start(context, $"apiserver{node}", [
                    // Its own member first (kubeadm's stacked topology), then the others: the client fails
                    // over in this order, so the API server outlives its local member, and componentstatuses
                    // shows one etcd-N per member.
                    "apiserver", "--etcd-servers", string.Join(",", context.StoreClientUrls.Skip(node - 1).Concat(context.StoreClientUrls.Take(node - 1))),
                    "--bind-address", address, "--secure-port", $"{context.ApiServerPort}", "--advertise-address", address,
                    "--tls-cert-file", Path.Combine(context.PkiDir, "apiserver.crt"),
                    "--tls-private-key-file", Path.Combine(context.PkiDir, "apiserver.key"),
                    "--client-ca-file", Path.Combine(context.PkiDir, "ca.crt")]));
            }

            using var http = AdminClient(context.PkiDir);
            for (var node = 1; node <= Nodes; node++)
            {
                var url = $"https://{context.NodeAddress(node)}:{context.ApiServerPort}/readyz";
                await WaitReadyAsync(http, url, _children[node - 1], TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
                await context.Output.WriteLineAsync($"  apiserver{node}: pid {_children[node - 1].Pid}, {url} ready").ConfigureAwait(false);
            }
        }

        public async Task StopAsync()
        {
            await Task.WhenAll(_children.Select(c => c.StopAsync())).ConfigureAwait(false);
        }
    }

    /// <summary>(c) per node, a VIP-gated balancer: frontend on VIP:lb-port over the three API servers
    /// (https /readyz check with the admin client certificate), stats on the node address, loopback
    /// VRRP v3 (VRID 51, priorities 150/140/130).</summary>
    public sealed class EdgeRole : IUpRole
    {
        private readonly List<Child> _children = [];

        public string Name => $"edges: VIP-gated balancers ({Nodes})";

        public async Task StartAsync(UpContext context, CancellationToken cancellationToken)
        {
            var dir = Path.Combine(context.DataDir, "edge");
            Directory.CreateDirectory(dir);
            var passwordFile = Path.Combine(dir, "stats.pass");
            if (!File.Exists(passwordFile))
            {
                File.WriteAllText(passwordFile, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
            }

            // The edges check each API server's /readyz over TLS (verified against the cluster CA, by
            // address) with the admin client certificate: an anonymous /readyz gets 401, and a plain tcp
            // check would keep a server that listens but is not ready in the pool.
            var pki = Path.GetFullPath(context.PkiDir);
            var servers = string.Join("\n", Enumerable.Range(1, Nodes).Select(n =>
                $"      - {{ name: apiserver{n}, address: {context.NodeAddress(n)}:{context.ApiServerPort} }}"));
            for (var node = 1; node <= Nodes; node++)
            {
                var address = context.NodeAddress(node);
                var lb = Path.Combine(dir, $"lb{node}.yaml");
                var vip = Path.Combine(dir, $"vip{node}.yaml");
                await File.WriteAllTextAsync(lb, $"""
                    frontends:
                      - name: kube-apiserver
                        bind: {context.Vip}:{context.LbPort}
                        backend: apiservers
                    backends:
                      - name: apiservers
                        balance: roundrobin
                        check: {"{"} type: https, path: /readyz, caFile: "{pki}/ca.crt", clientCertFile: "{pki}/admin.crt", clientKeyFile: "{pki}/admin.key", inter: 500ms, timeout: 1s, rise: 2, fall: 2 {"}"}
                        servers:
                    {servers}
                    stats:
                      bind: {address}:{context.StatsPort}
                      auth: {"{"} user: admin, passwordFile: {passwordFile} {"}"}

                    """, cancellationToken).ConfigureAwait(false);
                var peers = string.Join(", ", Enumerable.Range(1, Nodes).Where(n => n != node).Select(context.NodeAddress));
                await File.WriteAllTextAsync(vip, $"""
                    mode: loopback
                    name: up{node}
                    virtualRouterId: 51
                    priority: {160 - (10 * node)}
                    version: 3
                    advertInterval: 0.1
                    sourceIp: {address}
                    unicastPeers: [{peers}]
                    loopbackPort: {context.VrrpPort}
                    virtualIps: [{context.Vip}]

                    """, cancellationToken).ConfigureAwait(false);
                _children.Add(Child.Start(context, $"edge{node}", ["lb", "--config", lb, "--vip-config", vip]));
                await context.Output.WriteLineAsync($"  edge{node}: pid {_children[^1].Pid}, stats http://{address}:{context.StatsPort}/ (user admin, password in {passwordFile})")
                    .ConfigureAwait(false);
            }

            using var http = AdminClient(context.PkiDir);
            var url = $"https://{context.Vip}:{context.LbPort}/readyz";
            await WaitReadyAsync(http, url, null, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            // Right after start the edges may still be settling the election: report once exactly one serves.
            var holders = new List<int>();
            for (var settle = DateTime.UtcNow + TimeSpan.FromSeconds(10); DateTime.UtcNow < settle; await Task.Delay(100, cancellationToken).ConfigureAwait(false))
            {
                holders = Enumerable.Range(1, Nodes).Where(n => _children[n - 1].LastLine("VIP frontends")?.Contains("bound", StringComparison.Ordinal) == true).ToList();
                if (holders.Count == 1)
                {
                    break;
                }
            }

            var holder = holders.Count == 1 ? holders[0] : 0;
            await context.Output.WriteLineAsync($"  VIP {context.Vip} answers {url}; held by {(holder == 0 ? "?" : $"edge{holder} ({context.NodeAddress(holder)})")}")
                .ConfigureAwait(false);
        }

        public async Task StopAsync()
        {
            // Backups first, so the master's graceful priority-0 advert hands over to nobody in particular.
            _children.Reverse();
            foreach (var child in _children)
            {
                await child.StopAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>An HttpClient presenting admin.crt and trusting only the cluster CA.</summary>
    private static HttpClient AdminClient(string pkiDir)
    {
        using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(pkiDir, "admin.crt"), Path.Combine(pkiDir, "admin.key"));
        var clientCert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(pkiDir, "ca.crt"));
        var handler = new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                if (cert is null)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert);
            },
        };
        handler.ClientCertificates.Add(clientCert);
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
    }

    private static async Task WaitReadyAsync(HttpClient http, string url, Child? child, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (child is { HasExited: true })
            {
                throw new InvalidOperationException($"{child.Name} exited (code {child.ExitCode}); see {child.LogPath}");
            }

            try
            {
                using var response = await http.GetAsync(url, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = e.Message;
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"{url} not ready after {timeout.TotalSeconds:0}s: {last}");
    }

    /// <summary>A child `trireme` process whose output goes to DATA/logs/NAME.log.</summary>
    private sealed class Child
    {
        private readonly Process _process;
        private readonly Lock _linesLock = new();
        private readonly Dictionary<string, string> _lastLines = new(StringComparer.Ordinal);

        private Child(string name, string logPath, Process process)
        {
            Name = name;
            LogPath = logPath;
            _process = process;
        }

        public string Name { get; }

        public string LogPath { get; }

        public int Pid => _process.Id;

        public bool HasExited => _process.HasExited;

        public int ExitCode => _process.ExitCode;

        public static Child Start(UpContext context, string name, IReadOnlyList<string> args)
        {
            var logs = Path.Combine(context.DataDir, "logs");
            Directory.CreateDirectory(logs);
            var start = new ProcessStartInfo(context.TriremeCommand[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            // The child stops itself if this process dies without stopping it (see Trireme.Cli.ParentWatch).
            start.Environment["TRIREME_PARENT_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var arg in context.TriremeCommand.Skip(1).Concat(args))
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {name}");
            var logPath = Path.Combine(logs, $"{name}.log");
            var child = new Child(name, logPath, process);
            var sink = TextWriter.Synchronized(new StreamWriter(logPath, append: true) { AutoFlush = true });
            void OnLine(string? line)
            {
                if (line is null)
                {
                    return;
                }

                sink.WriteLine(line);
                if (line.Contains("VIP frontends", StringComparison.Ordinal))
                {
                    lock (child._linesLock)
                    {
                        child._lastLines["VIP frontends"] = line;
                    }
                }
            }

            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return child;
        }

        public string? LastLine(string key)
        {
            lock (_linesLock)
            {
                return _lastLines.GetValueOrDefault(key);
            }
        }

        /// <summary>SIGTERM (graceful: VRRP sends priority 0), then SIGKILL after a grace period.</summary>
        public async Task StopAsync()
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, 15);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            _process.Dispose();
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int Kill(int pid, int signal);
    }
}
