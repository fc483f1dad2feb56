using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Trireme.Vrrp;

namespace Trireme.Cli.Commands;

/// <summary>`trireme vip`: the virtual IP role (keepalived's), one VRRP instance from a YAML file.</summary>
public static class VipCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "YAML file with the VRRP instance (see docs/vrrp.md)", Required = true };
        var checkOnly = new Option<bool>("--check-config") { Description = "Validate the file and exit (0 = valid)" };
        var verbose = new Option<bool>("--verbose") { Description = "Log dropped packets and other debug detail" };
        var command = new Command("vip", "Run a VRRP v2/v3 virtual IP instance (keepalived-compatible on the wire).");
        command.Options.Add(config);
        command.Options.Add(checkOnly);
        command.Options.Add(verbose);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            VrrpConfig parsed;
            try
            {
                parsed = VrrpConfigLoader.Load(parse.GetValue(config)!.FullName);
            }
            catch (Exception e) when (e is VrrpConfigException or IOException)
            {
                await error.WriteLineAsync($"invalid config: {e.Message}").ConfigureAwait(false);
                return 2;
            }

            if (parse.GetValue(checkOnly))
            {
                await output.WriteLineAsync($"config ok: {parsed.Name}, vrid {parsed.VirtualRouterId}, v{(int)parsed.Version}, {parsed.Mode}").ConfigureAwait(false);
                return 0;
            }

            return await RunAsync(parsed, parse.GetValue(verbose), ct).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(VrrpConfig config, bool verbose, CancellationToken ct)
    {
        using var loggerFactory = LoggerFactory.Create(b => b
            .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            }));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // SIGTERM and SIGINT are the graceful stop: the master sends priority 0 before exiting.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            using var instance = new VrrpInstance(config, loggerFactory.CreateLogger("Trireme.Vrrp"));
            await instance.RunAsync(stop.Token).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is VrrpConfigException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            loggerFactory.CreateLogger("Trireme.Vrrp").LogError("vip failed: {Error}", verbose ? e.ToString() : e.Message);
            return 1;
        }
    }
}
