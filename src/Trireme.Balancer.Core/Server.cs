namespace Trireme.Balancer.Core;

/// <summary>
/// One server inside a <see cref="BackendCore"/>: its settings, health, operator state and the counters
/// the stats page shows. Only the backend mutates it; the host reads it under the backend's lock.
/// </summary>
public sealed class Server
{
    internal Server(int id, ServerSettings settings, CheckTimings? checks)
    {
        Id = id;
        Settings = settings;
        Health = checks is null ? null : new ServerHealth(checks);
    }

    /// <summary>Stable for the life of the backend, never reused, so a session can hold it.</summary>
    public int Id { get; }

    public ServerSettings Settings { get; internal set; }

    public string Name => Settings.Name;

    /// <summary>Null when the backend has no checks: such a server counts as always UP.</summary>
    public ServerHealth? Health { get; }

    public ServerAdminState AdminState { get; internal set; }

    /// <summary>Set when a dynamic backend dropped the server; sessions still on it finish normally.</summary>
    public bool Removed { get; internal set; }

    public bool IsUp => Health?.IsUp ?? true;

    /// <summary>Takes new, non-sticky connections.</summary>
    public bool IsSelectable => !Removed && IsUp && AdminState == ServerAdminState.Ready;

    /// <summary>Takes connections of clients already stuck to it (drain still allows these).</summary>
    public bool IsStickable => !Removed && IsUp && AdminState != ServerAdminState.Maint;

    public bool HasFreeSlot => Settings.MaxConn == 0 || CurrentSessions < Settings.MaxConn;

    public int CurrentSessions { get; internal set; }

    public int MaxSessions { get; internal set; }

    public long TotalSessions { get; internal set; }

    public int QueuedSessions { get; internal set; }

    public long ConnectErrors { get; internal set; }

    public long Redispatches { get; internal set; }

    public long DownTransitions { get; internal set; }

    public long UpTransitions { get; internal set; }

    public long FailedChecks { get; internal set; }

    /// <summary>Ticks spent DOWN in total, counting the current stretch.</summary>
    public long DowntimeTicks { get; internal set; }

    public long LastChangeTick { get; internal set; }

    public CheckResult? LastCheck { get; internal set; }

    /// <summary>The status word HAProxy shows: UP, DOWN, "UP 1/3" while going down, "DOWN 1/2" while
    /// going up, DRAIN, MAINT, or "no check".</summary>
    public string StatusText
    {
        get
        {
            if (AdminState == ServerAdminState.Maint)
            {
                return "MAINT";
            }

            if (Health is null)
            {
                return AdminState == ServerAdminState.Drain ? "DRAIN" : "no check";
            }

            var word = Health.IsUp ? (AdminState == ServerAdminState.Drain ? "DRAIN" : "UP") : "DOWN";
            return Health.RunLength == 0 ? word : $"{word} {Health.RunLength}/{RunTarget}";
        }
    }

    internal int RunTarget { get; set; }

    internal int CurrentWeight { get; set; }
}
