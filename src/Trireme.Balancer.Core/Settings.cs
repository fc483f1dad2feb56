namespace Trireme.Balancer.Core;

public enum BalanceAlgorithm
{
    RoundRobin,
    LeastConn,
    Source,
}

/// <summary>An operator's hold on a server, set from the stats page or CLI. Drain lets sticky clients
/// keep reaching it but sends no new ones; Maint sends nothing and stops its checks' effect.</summary>
public enum ServerAdminState
{
    Ready,
    Drain,
    Maint,
}

/// <summary>One server as the backend's decisions see it. <c>MaxConn</c> 0 means unlimited.</summary>
public sealed record ServerSettings(string Name, int Weight = 1, bool Backup = false, int MaxConn = 0);

/// <summary>Stick-on-source: remember which server a client address went to for <c>ExpireTicks</c>
/// after its last use, holding at most <c>Size</c> entries (the least recently used is evicted).</summary>
public sealed record StickSettings(int Size, long ExpireTicks);

/// <summary>
/// The backend's decision settings. <c>Checks</c> null means no health checks: servers are always UP.
/// <c>MaxQueue</c> bounds the connections waiting for a server slot; past it a connection is refused
/// rather than held, and one waits at most <c>QueueTimeoutTicks</c>. <c>Retries</c> is how many more
/// connect attempts follow a failed one; with <c>Redispatch</c> the last one goes to another server.
/// </summary>
public sealed record BackendSettings(
    BalanceAlgorithm Balance,
    CheckTimings? Checks,
    StickSettings? Stick,
    int MaxQueue,
    long QueueTimeoutTicks,
    int Retries,
    bool Redispatch);
