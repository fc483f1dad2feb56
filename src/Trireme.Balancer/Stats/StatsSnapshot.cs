using Trireme.Balancer.Runtime;

namespace Trireme.Balancer.Stats;

/// <summary>A consistent copy of every counter, taken under the locks once, then rendered as HTML, CSV,
/// JSON or Prometheus text without holding anything.</summary>
public sealed record StatsSnapshot(
    IReadOnlyList<FrontendStats> Frontends,
    IReadOnlyList<BackendStats> Backends,
    long Timeouts,
    long Reloads)
{
    internal static StatsSnapshot Capture(IEnumerable<FrontendRuntime> frontends, IEnumerable<BackendRuntime> backends,
        long timeouts, long reloads)
    {
        var fronts = frontends.Select(f => new FrontendStats(f.Config.Name, f.BoundEndPoint.ToString(), f.Backend.Name,
            f.CurrentSessions, f.MaxSessions, f.TotalSessions, f.BytesIn, f.BytesOut, f.Rejected, f.Config.MaxConn)).ToList();
        var backs = backends.Select(Capture).ToList();
        return new StatsSnapshot(fronts, backs, timeouts, reloads);
    }

    private static BackendStats Capture(BackendRuntime runtime)
    {
        var tickMs = runtime.TickMilliseconds;
        return runtime.Locked(core =>
        {
            var servers = core.Servers.Select(s =>
            {
                var endpoint = runtime.Endpoint(s.Id);
                return new ServerStats(s.Name, endpoint?.Address.ToString() ?? "", s.StatusText, s.AdminState.ToString().ToUpperInvariant(),
                    s.IsUp, s.Settings.Weight, s.Settings.Backup, s.Settings.MaxConn,
                    s.CurrentSessions, s.MaxSessions, s.TotalSessions, s.QueuedSessions,
                    endpoint?.BytesIn ?? 0, endpoint?.BytesOut ?? 0, s.ConnectErrors, s.Redispatches,
                    s.FailedChecks, s.DownTransitions, s.UpTransitions,
                    s.DowntimeTicks * tickMs / 1000.0, (core.NowTicks - s.LastChangeTick) * tickMs / 1000.0,
                    s.LastCheck?.Detail, s.LastCheck is { } c ? c.DurationMicroseconds / 1000.0 : null,
                    s.Health is not null);
            }).ToList();
            var up = servers.Count(s => s.Up && s.Admin != "MAINT");
            return new BackendStats(runtime.Name, runtime.Config.Balance.ToString().ToLowerInvariant(),
                up > 0 ? "UP" : "DOWN", up, servers.Count,
                core.CurrentSessions, core.MaxSessions, core.TotalSessions, core.QueueLength, core.MaxQueueLength,
                servers.Sum(s => s.BytesIn), servers.Sum(s => s.BytesOut),
                core.RejectedNoServer, core.RejectedQueueFull, core.QueueTimeouts, core.ConnectFailuresFinal,
                core.Stick?.Count, core.Stick?.Size, servers);
        });
    }
}

public sealed record FrontendStats(string Name, string Bind, string Backend, long CurrentSessions, long MaxSessions,
    long TotalSessions, long BytesIn, long BytesOut, long Rejected, int MaxConn);

public sealed record BackendStats(string Name, string Balance, string Status, int ServersUp, int ServersTotal,
    int CurrentSessions, int MaxSessions, long TotalSessions, int QueueCurrent, int QueueMax, long BytesIn,
    long BytesOut, long RejectedNoServer, long RejectedQueueFull, long QueueTimeouts, long ConnectFailures,
    int? StickEntries, int? StickSize, IReadOnlyList<ServerStats> Servers);

public sealed record ServerStats(string Name, string Address, string Status, string Admin, bool Up, int Weight,
    bool Backup, int MaxConn, int CurrentSessions, int MaxSessions, long TotalSessions, int QueueCurrent,
    long BytesIn, long BytesOut, long ConnectErrors, long Redispatches, long FailedChecks, long DownTransitions,
    long UpTransitions, double DowntimeSeconds, double LastChangeSeconds, string? LastCheck,
    double? LastCheckMilliseconds, bool Checked);
