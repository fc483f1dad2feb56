using Microsoft.Extensions.Logging;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Runtime;

// The one heartbeat: every tick it advances each backend's core (check scheduling, queue timeouts,
// stick expiry) and starts the probes that fell due; every TimeoutScanMilliseconds it walks the live
// sessions for connect and idle timeouts.
public sealed partial class BalancerHost
{
    // Sessions are scanned ten times a second: timeouts are seconds long in practice, and a scan of
    // ten thousand sessions is a few hundred microseconds.
    private const int TimeoutScanMilliseconds = 100;

    private async Task HeartbeatAsync(CancellationToken stopping)
    {
        var tickMs = Config.Global.TickMilliseconds;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(tickMs));
        var lastScanMs = Environment.TickCount64;
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                TickBackends(stopping);
                var now = Environment.TickCount64;
                if (now - lastScanMs >= TimeoutScanMilliseconds)
                {
                    lastScanMs = now;
                    foreach (var session in Sessions.Values)
                    {
                        session.CheckTimeouts(now);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown.
        }
    }

    private void TickBackends(CancellationToken stopping)
    {
        List<(BackendRuntime Runtime, CheckProbe? Probe)> backends;
        lock (_reloadLock)
        {
            backends = _backends.Values.Select(b => (b, _probes.GetValueOrDefault(b))).ToList();
        }

        foreach (var (runtime, probe) in backends)
        {
            foreach (var (server, endpoint) in runtime.Tick(OnTransition(runtime)))
            {
                if (probe is not null)
                {
                    _ = ProbeAsync(runtime, probe, server, endpoint, stopping);
                }
            }
        }
    }

    private async Task ProbeAsync(BackendRuntime runtime, CheckProbe probe, Server server, ServerEndpoint endpoint,
        CancellationToken stopping)
    {
        var result = await probe.RunAsync(endpoint.Address, stopping).ConfigureAwait(false);
        if (!stopping.IsCancellationRequested)
        {
            runtime.StepCheckResult(server, result, OnTransition(runtime));
        }
    }

    private Action<Server, HealthTransition> OnTransition(BackendRuntime runtime) => (server, transition) =>
    {
        if (transition == HealthTransition.WentDown)
        {
            LogServerDown(_log, runtime.Name, server.Name, server.LastCheck?.Detail ?? "");
        }
        else
        {
            LogServerUp(_log, runtime.Name, server.Name, server.LastCheck?.Detail ?? "");
        }
    };

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "balancer started: {Frontends} frontends, {Backends} backends")]
    private static partial void LogStarted(ILogger log, int frontends, int backends);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "configuration reloaded: {Frontends} frontends, {Backends} backends")]
    private static partial void LogReloaded(ILogger log, int frontends, int backends);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Error, Message = "reload refused, the running configuration stays: {Reason}")]
    private static partial void LogReloadRefused(ILogger log, string reason);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "server {Backend}/{Server} is DOWN ({Check})")]
    private static partial void LogServerDown(ILogger log, string backend, string server, string check);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "server {Backend}/{Server} is UP ({Check})")]
    private static partial void LogServerUp(ILogger log, string backend, string server, string check);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "server {Backend}/{Server} set to {State}")]
    private static partial void LogAdminState(ILogger log, string backend, string server, ServerAdminState state);
}
