using System.Net;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Config;

/// <summary>A validated balancer configuration. Built only by <see cref="ConfigParser"/>, so every
/// instance has already passed every check the parser makes.</summary>
public sealed record BalancerConfig(
    GlobalConfig Global,
    IReadOnlyList<FrontendConfig> Frontends,
    IReadOnlyList<BackendConfig> Backends,
    StatsConfig? Stats);

/// <summary><c>MaxConn</c>: client connections open at once over all frontends; past it the listeners
/// stop accepting and the kernel backlog holds new clients (HAProxy's global maxconn).
/// <c>TickMilliseconds</c>: the heartbeat period, the resolution of every timer. <c>Engine</c>: how
/// established sessions move bytes (see <see cref="ForwardingEngine"/>).</summary>
public sealed record GlobalConfig(int MaxConn, int TickMilliseconds, ForwardingEngine Engine = ForwardingEngine.Epoll);

/// <summary>Epoll: one thread, level-triggered epoll, recv/send (Linux x86-64, the default there).
/// Sockets: .NET's Socket async engine (portable; used where epoll is not supported).</summary>
public enum ForwardingEngine
{
    Epoll,
    Sockets,
}

public sealed record FrontendConfig(string Name, IPEndPoint Bind, string Backend, int MaxConn);

public sealed record TimeoutsConfig(
    TimeSpan Connect,
    TimeSpan Client,
    TimeSpan Server,
    TimeSpan Tunnel,
    TimeSpan Queue);

public enum CheckType
{
    Tcp,
    Http,
    Https,
}

/// <summary>A health check. <c>ExpectStatus</c> null accepts any 2xx or 3xx as HAProxy does;
/// <c>Verify</c> false skips certificate checks (HAProxy's <c>verify none</c>), true checks the chain
/// against <c>CaFile</c> (or the system store) and the name against <c>Sni</c> or the address.</summary>
public sealed record CheckConfig(
    CheckType Type,
    string Path,
    int? ExpectStatus,
    TimeSpan Inter,
    TimeSpan FastInter,
    TimeSpan DownInter,
    int Rise,
    int Fall,
    TimeSpan Timeout,
    bool Verify,
    string? CaFile,
    string? Sni,
    string? ClientCertFile = null,
    string? ClientKeyFile = null);

public sealed record StickConfig(TimeSpan Expire, int Size);

public sealed record ServerConfig(string Name, IPEndPoint Address, int Weight, bool Backup, int MaxConn);

/// <summary>A backend that follows the Kubernetes <c>Endpoints</c> object instead of a fixed list.</summary>
public sealed record KubernetesSourceConfig(string Kubeconfig, string Namespace, string Endpoints, string? PortName);

public sealed record BackendConfig(
    string Name,
    BalanceAlgorithm Balance,
    StickConfig? Stick,
    CheckConfig? Check,
    TimeoutsConfig Timeouts,
    int Retries,
    bool Redispatch,
    int MaxQueue,
    IReadOnlyList<ServerConfig> Servers,
    KubernetesSourceConfig? Kubernetes);

public sealed record StatsConfig(IPEndPoint Bind, string User, string Password);
