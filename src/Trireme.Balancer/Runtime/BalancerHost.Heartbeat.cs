using Microsoft.Extensions.Logging;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Runtime;

// The one heartbeat: every tick it advances each backend's core (check scheduling, queue timeouts,
// stick expiry) and starts the probes that fell due; with the Socket engine it also walks the live
// sessions every TimeoutScanMilliseconds for connect and idle timeouts (the epoll engine applies its
// own). With the epoll engine the tick runs on the engine's loop thread, between batches of events:
// a thread-pool timer firing every 10 ms cost about 4 % of a core on an idle balancer (a timer thread
// wake-up and thread-pool workers spinning after each tick), and more under load.
public sealed partial class BalancerHost
{
    // Sessions are scanned ten times a second: timeouts are seconds long in practice, and a scan of
    // ten thousand sessions is a few hundred microseconds.
    private const int TimeoutScanMilliseconds = 100;

    // What each tick advances: replaced whole by a reload (so the tick never takes the reload lock,
    // which a reload holds while it waits for the engine's loop to drop a listener).
    private volatile (BackendRuntime Runtime, CheckProbe? Probe)[] _ticked = [];

    private Task HeartbeatAsync(CancellationToken stopping)
    {
        if (Engine is { } engine)
        {
            engine.SetTicker(Config.Global.TickMilliseconds, () => TickBackends(stopping));
            return Task.CompletedTask;
        }

        return TimerHeartbeatAsync(stopping);
    }

    private async Task TimerHeartbeatAsync(CancellationToken stopping)
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
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        foreach (var (runtime, probe) in _ticked)
        {
            foreach (var (server, endpoint) in runtime.Tick(OnTransition(runtime)))
            {
                if (probe is not null)
                {
                    // On the thread pool: a probe's first steps (socket, connect, a TLS hello) run
                    // synchronously and must not hold up the engine's loop.
                    _ = Task.Run(() => ProbeAsync(runtime, probe, server, endpoint, stopping), CancellationToken.None);
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
