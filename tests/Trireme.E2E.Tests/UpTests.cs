// Proves `trireme up` end to end with the real tools: the real `trireme up` process on a temp data dir
// and free ports, then real kubectl 1.32 through the VIP (get cs / ns, create ns, run, expose → a
// NodePort), real etcdctl member list, kill -9 of node 1's edge (the VRRP master) and of node 1's API
// server with kubectl still answering through the VIP, and SIGTERM leaving no child process. Skips when
// kubectl or etcdctl is missing. Node addresses are up's fixed 127.0.0.10-13 (the store's local
// cluster fixes them); every port is free-picked.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Trireme.E2E.Tests;

public sealed partial class UpTests
{
    [Fact]
    public async Task UpServesKubectlThroughTheVipAndSurvivesNodeOneFailures()
    {
        var ct = TestContext.Current.CancellationToken;
        if (Which("kubectl") is null || Which("etcdctl") is null)
        {
            Assert.Skip("kubectl or etcdctl is not installed");
        }

        var dir = Directory.CreateTempSubdirectory("trireme-e2e-");
        var output = new StringBuilder();
        using var up = StartUp(Path.Combine(dir.FullName, "data"), output);
        string Out() { lock (output) { return output.ToString(); } }
        try
        {
            await PollAsync(() => Task.FromResult(Out().Contains("trireme up: running", StringComparison.Ordinal) || up.HasExited),
                TimeSpan.FromSeconds(240), "up never reported running", ct);
            Assert.False(up.HasExited, Out());
            var kubeconfig = Path.Combine(dir.FullName, "data", "pki", "admin.conf");
            async Task<(int Code, string Text)> Kubectl(params string[] args) => await RunAsync("kubectl", ["--kubeconfig", kubeconfig, .. args], ct);

            var cs = await Kubectl("get", "cs");
            Assert.True(cs.Code == 0, cs.Text);
            Assert.Matches(@"etcd-0\s+Healthy", cs.Text);
            Assert.Matches(@"etcd-1\s+Healthy", cs.Text);
            Assert.Matches(@"etcd-2\s+Healthy", cs.Text);
            Assert.Contains("default", (await Kubectl("get", "ns")).Text, StringComparison.Ordinal);
            Assert.Equal(0, (await Kubectl("create", "ns", "demo")).Code);
            Assert.Equal(0, (await Kubectl("run", "nginx", "--image", "nginx", "--restart=Never", "--port", "80", "-n", "demo")).Code);
            Assert.Equal(0, (await Kubectl("expose", "pod", "nginx", "--port", "80", "--type", "NodePort", "-n", "demo")).Code);
            var svc = await Kubectl("get", "svc", "-n", "demo");
            var nodePort = int.Parse(NodePort().Match(svc.Text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(nodePort, 30000, 32767);

            var endpoints = Regex.Match(Out(), @"--endpoints (\S+) member list").Groups[1].Value;
            var members = await RunAsync("etcdctl", ["--endpoints", endpoints, "member", "list"], ct, ("ETCDCTL_API", "3"));
            Assert.Equal(3, members.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            var pids = Pids().Matches(Out()).Select(m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Kill9(Pid(Out(), "edge1"));
            await PollAsync(async () => (await Kubectl("get", "ns")).Code == 0, TimeSpan.FromSeconds(60), "kubectl failed after edge1 was killed", ct);
            Kill9(Pid(Out(), "apiserver1"));
            await PollAsync(async () => (await Kubectl("get", "ns", "demo")).Code == 0, TimeSpan.FromSeconds(60), "kubectl failed after apiserver1 was killed", ct);

            Signal(up.Id, 15);
            await up.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token);
            foreach (var pid in pids)
            {
                Assert.False(Alive(pid), $"child {pid} still running after up stopped");
            }
        }
        finally
        {
            if (!up.HasExited)
            {
                up.Kill(entireProcessTree: true);
            }

            foreach (Match m in Pids().Matches(Out()))
            {
                var pid = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (Alive(pid))
                {
                    Kill9(pid);
                }
            }

            dir.Delete(recursive: true);
        }
    }

    /// <summary>Starts the real `trireme up` on free ports; its output lines go to <paramref name="output"/>.</summary>
    private static Process StartUp(string dataDir, StringBuilder output)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "trireme.dll"), "up", "--data-dir", dataDir,
            "--store-client-port", $"{FreePort()}", "--store-peer-port", $"{FreePort()}", "--apiserver-port", $"{FreePort()}",
            "--lb-port", $"{FreePort()}", "--stats-port", $"{FreePort()}", "--vrrp-port", $"{FreeUdpPort()}",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var up = Process.Start(start)!;
        up.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        up.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        up.BeginOutputReadLine();
        up.BeginErrorReadLine();
        return up;
    }

    [Fact]
    public async Task Kill_9_of_up_stops_every_role_it_started()
    {
        // Nobody is left to send SIGTERM when up dies with -9: each role watches its parent and stops
        // itself (gracefully), so a rerun can bind the same addresses.
        var ct = TestContext.Current.CancellationToken;
        var dir = Directory.CreateTempSubdirectory("trireme-e2e-");
        var output = new StringBuilder();
        using var up = StartUp(Path.Combine(dir.FullName, "data"), output);
        string Out() { lock (output) { return output.ToString(); } }
        var pids = new List<int>();
        try
        {
            await PollAsync(() => Task.FromResult(Out().Contains("trireme up: running", StringComparison.Ordinal) || up.HasExited),
                TimeSpan.FromSeconds(240), "up never reported running", ct);
            Assert.False(up.HasExited, Out());
            pids = Pids().Matches(Out()).Select(m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(9, pids.Count);

            Kill9(up.Id);
            await PollAsync(() => Task.FromResult(!pids.Any(Alive)), TimeSpan.FromSeconds(60),
                $"roles still running 60 s after up was killed: {string.Join(", ", pids.Where(Alive))}", ct);
        }
        finally
        {
            foreach (var pid in pids.Where(Alive))
            {
                Kill9(pid);
            }

            dir.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"80:(\d+)/TCP")]
    private static partial Regex NodePort();

    [GeneratedRegex(@"(m\d|apiserver\d|edge\d): pid (\d+)")]
    private static partial Regex Pids();

    private static int Pid(string output, string name) =>
        int.Parse(Regex.Match(output, $@"{name}: pid (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static bool Alive(int pid)
    {
        // A zombie still has /proc/PID but its state is Z; the parent reaps its children on stop.
        var stat = $"/proc/{pid}/stat";
        return File.Exists(stat) && !File.ReadAllText(stat).Contains(") Z ", StringComparison.Ordinal);
    }

    private static void Kill9(int pid) => Signal(pid, 9);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Signal(int pid, int signal);

    private static async Task<(int Code, string Text)> RunAsync(string file, string[] args, CancellationToken ct, params (string Key, string Value)[] env)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static async Task PollAsync(Func<Task<bool>> condition, TimeSpan timeout, string message, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(250, ct);
        }
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static int FreeUdpPort()
    {
        using var s = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.Client.LocalEndPoint!).Port;
    }
}
