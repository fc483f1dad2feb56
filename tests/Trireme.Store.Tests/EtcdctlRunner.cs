using System.Diagnostics;
using Trireme.Testing;

namespace Trireme.Store.Tests;

/// <summary>Runs real etcdctl (ETCDCTL_API=3) with input on stdin (txn's syntax, a value too large for an
/// argument) and a time limit; the process is killed by its own PID when the limit passes.</summary>
internal static class EtcdctlRunner
{
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(IEnumerable<Uri> endpoints,
        IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(EtcdCluster.EtcdctlPath ?? throw new InvalidOperationException("etcdctl is not installed"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ETCDCTL_API"] = "3";
        foreach (var argument in new[] { "--endpoints", string.Join(",", endpoints.Select(EtcdCluster.Url)), "--dial-timeout", "10s",
                     "--command-timeout", "30s" }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
        var stderr = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), limit.Token).ConfigureAwait(false);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"etcdctl {string.Join(' ', arguments)} did not finish in time");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
