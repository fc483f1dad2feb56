using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store;

/// <summary>
/// A development store cluster of N real <c>trireme store</c> processes on loopback addresses
/// 127.0.0.11, .12, ... (what <c>trireme up</c> starts). Ports are chosen once (etcd's 2379/2380 when
/// free) and remembered in the data dir, because member ids derive from peer URLs and must not change
/// between runs. Stop sends SIGTERM to each child (graceful: the leader hands over first) and waits.
/// </summary>
public sealed partial class LocalStoreCluster : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    private LocalStoreCluster(string dataDir, IReadOnlyList<(string Name, string Client, string Peer)> members)
    {
        DataDir = dataDir;
        Members = members;
    }

    public string DataDir { get; }

    public IReadOnlyList<(string Name, string Client, string Peer)> Members { get; }

    public string Endpoints => string.Join(",", Members.Select(m => new Uri(m.Client).Authority));

    public IReadOnlyList<int> Pids => _processes.Select(p => p.Id).ToList();

    /// <summary>Starts the members; <paramref name="command"/> is how to run trireme (path, then leading args).</summary>
    public static LocalStoreCluster Start(IReadOnlyList<string> command, string dataDir, int size, int clientPort, int peerPort,
        TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(command);
        Directory.CreateDirectory(dataDir);
        var portsFile = Path.Combine(dataDir, "ports");
        if (File.Exists(portsFile))
        {
            var saved = File.ReadAllText(portsFile).Split(' ');
            clientPort = int.Parse(saved[0], CultureInfo.InvariantCulture);
            peerPort = int.Parse(saved[1], CultureInfo.InvariantCulture);
        }
        else
        {
            if (!Enumerable.Range(0, size).All(i => IsFree(Address(i), clientPort) && IsFree(Address(i), peerPort)))
            {
                (clientPort, peerPort) = (FreePort(Address(0)), FreePort(Address(0)));
            }

            File.WriteAllText(portsFile, $"{clientPort} {peerPort}");
        }

        var members = Enumerable.Range(0, size)
            .Select(i => ($"m{i + 1}", $"http://{Address(i)}:{clientPort}", $"http://{Address(i)}:{peerPort}")).ToList();
        var cluster = new LocalStoreCluster(dataDir, members);
        var initialCluster = string.Join(",", members.Select(m => $"{m.Item1}={m.Item3}"));
        var token = "trireme-up-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(dataDir))))[..12].ToLowerInvariant();
        foreach (var (name, client, peer) in members)
        {
            var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            // The child stops itself if this process dies without stopping it (see Trireme.Cli.ParentWatch).
            start.Environment["TRIREME_PARENT_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var arg in command.Skip(1).Concat([
                "store", "--name", name, "--data-dir", Path.Combine(dataDir, name),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initialCluster, "--initial-cluster-token", token, "--log-level", "warning"]))
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            var logPath = Path.Combine(dataDir, $"{name}.log");
            var sink = TextWriter.Synchronized(new StreamWriter(logPath, append: true) { AutoFlush = true });
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { sink.WriteLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { sink.WriteLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            cluster._processes.Add(process);
            log.WriteLine($"  store {name}: pid {process.Id}, client {client}, peer {peer}, log {logPath}");
        }

        return cluster;
    }

    private static string Address(int i) => $"127.0.0.{11 + i}";

    private static bool IsFree(string address, int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Parse(address), port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort(string address)
    {
        using var listener = new TcpListener(IPAddress.Parse(address), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until every member answers Status and one leader is known; returns (name, id, isLeader).</summary>
    public async Task<List<(string Name, ulong Id, bool IsLeader)>> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var exited = _processes.FirstOrDefault(p => p.HasExited);
            if (exited is not null)
            {
                throw new InvalidOperationException($"store member pid {exited.Id} exited with code {exited.ExitCode}; see its log in {DataDir}");
            }

            try
            {
                var result = new List<(string, ulong, bool)>();
                foreach (var (name, client, _) in Members)
                {
                    using var channel = new GrpcChannel(new Uri(client));
                    var status = await channel.UnaryAsync(EtcdMethods.Status, new Pb.StatusRequest(), Pb.StatusResponse.Parser,
                        new CallOptions(TimeSpan.FromSeconds(2), cancellationToken)).ConfigureAwait(false);
                    result.Add((name, status.Header.MemberId, status.Leader == status.Header.MemberId));
                }

                if (result.Count(r => r.Item3) == 1)
                {
                    return result;
                }
            }
            catch (Exception e) when (e is Trireme.Grpc.GrpcException or HttpRequestException or OperationCanceledException or IOException)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the store cluster did not elect a leader within {timeout}");
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private const int Sigterm = 15;

    /// <summary>SIGTERM every member (graceful), wait up to <paramref name="grace"/>, then SIGKILL stragglers.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        foreach (var process in _processes.Where(p => !p.HasExited))
        {
            _ = Kill(process.Id, Sigterm);
        }

        using var timeout = new CancellationTokenSource(grace);
        foreach (var process in _processes)
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        foreach (var process in _processes)
        {
            process.Dispose();
        }
    }
}
