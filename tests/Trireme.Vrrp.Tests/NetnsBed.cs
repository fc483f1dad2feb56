using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Trireme.Vrrp.Tests;

/// <summary>
/// A throwaway L2 segment in network namespaces (root only): a bridge namespace, routers r1..rN at
/// 10.77.1.11.., and a client at 10.77.1.9, all named trv-&lt;random&gt;. Routers run the real `trireme vip`
/// or real keepalived. Dispose kills every process it started (by PID) and deletes every namespace,
/// which also deletes the veths and the bridge inside them — on failure too.
/// </summary>
internal sealed class NetnsBed : IDisposable
{
    public const string Vip = "10.77.1.100";

    /// <summary>A second VIP of the same instance, for the tests that prove several VIPs move together.</summary>
    public const string SecondVip = "10.77.1.101";
    public const string ClientAddress = "10.77.1.9";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private readonly List<string> _namespaces = [];
    private readonly List<RouterProcess> _processes = [];
    private readonly string _id = Convert.ToHexString(Guid.NewGuid().ToByteArray()[..3]).ToLowerInvariant();

    public NetnsBed(int routers)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"trv-{_id}-").FullName;
        try
        {
            Bridge = AddNamespace("br");
            Run("ip", "netns", "exec", Bridge, "ip", "link", "add", "br0", "type", "bridge");
            Run("ip", "netns", "exec", Bridge, "ip", "link", "set", "br0", "up");
            for (var i = 1; i <= routers; i++)
            {
                Routers.Add(AddHost($"r{i}", RouterAddress(i)));
            }

            Client = AddHost("c", ClientAddress);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Directory { get; }

    public string Bridge { get; }

    public List<string> Routers { get; } = [];

    public string Client { get; } = "";

    public static string RouterAddress(int index) => $"10.77.1.{10 + index}";

    public static string? SkipReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces need Linux";
        }

        if (Environment.UserName != "root")
        {
            return "the namespace test bed needs root (ip netns, raw sockets)";
        }

        foreach (var tool in new[] { "/usr/sbin/ip", "/usr/bin/busybox" })
        {
            if (!File.Exists(tool) && !File.Exists(tool.Replace("/usr/sbin/", "/sbin/", StringComparison.Ordinal)))
            {
                return $"{tool} is not installed";
            }
        }

        return null;
    }

    /// <summary>The `dotnet trireme.dll` next to this test assembly (the Cli project is referenced).</summary>
    public static string TriremeDll => Path.Combine(AppContext.BaseDirectory, "trireme.dll");

    public string Mac(int router) => Run("ip", "netns", "exec", Routers[router - 1], "cat", "/sys/class/net/eth0/address").Trim();

    public bool HoldsVip(int router, string vip = Vip) =>
        Run("ip", "netns", "exec", Routers[router - 1], "ip", "-4", "-o", "addr", "show", "dev", "eth0").Contains($" {vip}/", StringComparison.Ordinal);

    public int[] VipHolders(IEnumerable<int> alive, string vip = Vip) => alive.Where(r => HoldsVip(r, vip)).ToArray();

    /// <summary>The MAC the client's neighbour table holds for the VIP, or null.</summary>
    public string? ClientNeighbourMac(string vip = Vip)
    {
        var line = Run("ip", "netns", "exec", Client, "ip", "neigh", "show", vip);
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.IndexOf(parts, "lladdr");
        return at >= 0 && at + 1 < parts.Length ? parts[at + 1] : null;
    }

    public bool ClientPings(string vip = Vip) =>
        TryRun(out _, "ip", "netns", "exec", Client, "busybox", "ping", "-c", "1", "-W", "1", vip) == 0;

    public RouterProcess StartTrireme(int router, string yaml)
    {
        var config = Path.Combine(Directory, $"r{router}-{_processes.Count}.yaml");
        File.WriteAllText(config, yaml);
        return Start($"r{router}", "ip", "netns", "exec", Routers[router - 1], "dotnet", TriremeDll, "vip", "--config", config, "--verbose");
    }

    public RouterProcess StartKeepalived(int router, string conf)
    {
        var path = Path.Combine(Directory, $"k{router}-{_processes.Count}");
        File.WriteAllText(path + ".conf", conf);
        return Start($"k{router}", "ip", "netns", "exec", Routers[router - 1], "keepalived", "--dont-fork", "--log-console",
            "--log-detail", "--vrrp", "--use-file", path + ".conf", "--pid", path + ".pid", "--vrrp_pid", path + ".vrrp.pid",
            "--checkers_pid", path + ".checkers.pid");
    }

    public RouterProcess StartTcpdump() =>
        Start("tcpdump", "ip", "netns", "exec", Bridge, "tcpdump", "-i", "br0", "-n", "-v", "-l", "-U", "vrrp or arp");

    /// <summary>Cuts one router off the segment without touching its link state: its bridge port leaves
    /// the bridge (the veth stays up, so the router sees no interface fault, only silence).</summary>
    public void Partition(int router, bool cut) =>
        Run(cut
            ? ["ip", "netns", "exec", Bridge, "ip", "link", "set", Veth(router), "nomaster"]
            : ["ip", "netns", "exec", Bridge, "ip", "link", "set", Veth(router), "master", "br0"]);

    private string Veth(int router) => $"tv{_id}r{router}";

    private string AddNamespace(string role)
    {
        var name = $"trv-{_id}-{role}";
        Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
        return name;
    }

    private string AddHost(string role, string address)
    {
        var ns = AddNamespace(role);
        var outer = $"tv{_id}{role}";
        Run("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Run("ip", "link", "set", outer, "netns", Bridge);
        Run("ip", "netns", "exec", Bridge, "ip", "link", "set", outer, "master", "br0", "up");
        Run("ip", "netns", "exec", ns, "ip", "addr", "add", $"{address}/24", "dev", "eth0");
        Run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        return ns;
    }

    private RouterProcess Start(string name, params string[] command)
    {
        var process = new RouterProcess(name, command);
        _processes.Add(process);
        return process;
    }

    public static string Run(params string[] command)
    {
        var code = TryRun(out var output, command);
        return code == 0 ? output : throw new InvalidOperationException($"`{string.Join(' ', command)}` exited {code}: {output}");
    }

    public static int TryRun(out string output, params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            output = "timeout";
            return -1;
        }

        output = stdout.Result + stderr.Result;
        return process.ExitCode;
    }

    /// <summary>Polls <paramref name="condition"/> until true or the deadline (generous: the machine is shared).</summary>
    public static void WaitFor(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:0} s: {describe()}");
            }

            Thread.Sleep(50); // polling interval, not a wait for state
        }
    }

    public string Logs() => string.Join("\n", _processes.Select(p => $"--- {p.Name} ---\n{p.Output}"));

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Kill();
        }

        foreach (var ns in _namespaces.AsEnumerable().Reverse())
        {
            TryRun(out _, "ip", "netns", "del", ns);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One process in the bed, its output captured. Kill is SIGKILL by PID; Terminate is SIGTERM.</summary>
internal sealed class RouterProcess
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public RouterProcess(string name, string[] command)
    {
        Name = name;
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public void Signal(string signal) => NetnsBed.TryRun(out _, "kill", $"-{signal}", Pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>kill -9, also for keepalived: its VRRP child gets SIGTERM when the parent dies and would
    /// then send a priority-0 goodbye (a graceful stop). So: SIGSTOP the parent (it cannot respawn the
    /// child), SIGKILL the children, then SIGKILL the parent.</summary>
    public void Kill()
    {
        if (_process.HasExited)
        {
            return;
        }

        var pid = Pid.ToString(CultureInfo.InvariantCulture);
        NetnsBed.TryRun(out _, "kill", "-STOP", pid);
        if (NetnsBed.TryRun(out var children, "pgrep", "-P", pid) == 0)
        {
            NetnsBed.TryRun(out _, ["kill", "-9", .. children.Split('\n', StringSplitOptions.RemoveEmptyEntries)]);
        }

        NetnsBed.TryRun(out _, "kill", "-9", pid);
        _process.WaitForExit(10_000);
    }

    public void WaitForExit() => Assert.True(_process.WaitForExit(30_000), $"{Name} did not exit");

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
