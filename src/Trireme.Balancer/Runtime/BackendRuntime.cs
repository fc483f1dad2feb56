using System.Net;
using Trireme.Balancer.Config;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// The host around one <see cref="BackendCore"/>: a lock that serialises every call into the core,
/// the servers' addresses and byte counters, and the sessions waiting in the maxconn queue. The core
/// decides; this class turns its Ready into completed waits and started probes.
/// </summary>
internal sealed class BackendRuntime
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, ServerEndpoint> _endpoints = [];
    private readonly Dictionary<long, TaskCompletionSource<Server?>> _waiting = [];

    public BackendRuntime(BackendConfig config, int tickMilliseconds)
    {
        Config = config;
        TickMilliseconds = tickMilliseconds;
        Core = new BackendCore(ToSettings(config, tickMilliseconds), config.Servers.Select(ToServerSettings));
        foreach (var (server, cfg) in Core.Servers.Zip(config.Servers))
        {
            _endpoints[server.Id] = new ServerEndpoint(cfg.Address);
        }
    }

    public BackendConfig Config { get; private set; }

    public BackendCore Core { get; }

    public int TickMilliseconds { get; }

    public string Name => Config.Name;

    /// <summary>Every access to the core from outside goes through here.</summary>
    public T Locked<T>(Func<BackendCore, T> read)
    {
        lock (_lock)
        {
            return read(Core);
        }
    }

    public ServerEndpoint? Endpoint(int serverId)
    {
        lock (_lock)
        {
            return _endpoints.GetValueOrDefault(serverId);
        }
    }

    /// <summary>Where a new session goes: a server now, a server after a wait in the queue, or null
    /// when it is refused (no server, queue full, queue timeout).</summary>
    public ValueTask<Server?> AssignAsync(long sessionId, UInt128 client)
    {
        lock (_lock)
        {
            return Await(sessionId, Core.Assign(sessionId, client));
        }
    }

    public ValueTask<Server?> ConnectFailedAsync(long sessionId)
    {
        lock (_lock)
        {
            return Await(sessionId, Core.ConnectFailed(sessionId));
        }
    }

    public void Release(long sessionId)
    {
        TaskCompletionSource<Server?>? orphan;
        BackendReady ready;
        lock (_lock)
        {
            _waiting.Remove(sessionId, out orphan);
            Core.Release(sessionId);
            ready = Core.TakeReady();
        }

        orphan?.TrySetResult(null);
        Complete(ready);
    }

    private ValueTask<Server?> Await(long sessionId, Decision decision)
    {
        switch (decision.Kind)
        {
            case DecisionKind.Connect:
                return new ValueTask<Server?>(decision.Server);
            case DecisionKind.Queued:
                var wait = new TaskCompletionSource<Server?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting[sessionId] = wait;
                return new ValueTask<Server?>(wait.Task);
            default:
                return new ValueTask<Server?>((Server?)null);
        }
    }

    /// <summary>One heartbeat: ticks the core and returns the servers whose probe is due.</summary>
    public List<(Server Server, ServerEndpoint Endpoint)> Tick(Action<Server, HealthTransition> onTransition)
    {
        BackendReady ready;
        var probes = new List<(Server, ServerEndpoint)>();
        lock (_lock)
        {
            Core.Tick();
            ready = Core.TakeReady();
            foreach (var server in ready.ChecksDue)
            {
                probes.Add((server, _endpoints[server.Id]));
            }
        }

        foreach (var (server, transition) in ready.Transitions)
        {
            onTransition(server, transition);
        }

        Complete(ready);
        return probes;
    }

    public void StepCheckResult(Server server, CheckResult result, Action<Server, HealthTransition> onTransition)
    {
        BackendReady ready;
        lock (_lock)
        {
            Core.StepCheckResult(server.Id, result);
            ready = Core.TakeReady();
        }

        foreach (var (s, transition) in ready.Transitions)
        {
            onTransition(s, transition);
        }

        Complete(ready);
    }

    public bool SetAdminState(string server, ServerAdminState state)
    {
        BackendReady ready;
        bool found;
        lock (_lock)
        {
            found = Core.SetAdminState(server, state);
            ready = Core.TakeReady();
        }

        Complete(ready);
        return found;
    }

    /// <summary>Replaces the server list, keeping health, counters and sessions of servers whose name
    /// stays (dynamic backends and reloads that only change servers).</summary>
    public void SetServers(IReadOnlyList<ServerConfig> servers)
    {
        BackendReady ready;
        lock (_lock)
        {
            Core.SetServers(servers.Select(ToServerSettings).ToArray());
            var byName = servers.ToDictionary(s => s.Name, StringComparer.Ordinal);
            foreach (var server in Core.Servers)
            {
                var address = byName[server.Name].Address;
                if (!_endpoints.TryGetValue(server.Id, out var known) || !known.Address.Equals(address))
                {
                    _endpoints[server.Id] = new ServerEndpoint(address);
                }
            }

            Config = Config with { Servers = servers };
            ready = Core.TakeReady();
        }

        Complete(ready);
    }

    /// <summary>Completes queue waits outside the lock (continuations run asynchronously anyway).</summary>
    private void Complete(BackendReady ready)
    {
        if (ready.Dequeued.Count == 0 && ready.QueueTimedOut.Count == 0)
        {
            return;
        }

        var grants = new List<(TaskCompletionSource<Server?>, Server?)>();
        lock (_lock)
        {
            foreach (var (sessionId, server) in ready.Dequeued)
            {
                if (_waiting.Remove(sessionId, out var wait))
                {
                    grants.Add((wait, server));
                }
            }

            foreach (var sessionId in ready.QueueTimedOut)
            {
                if (_waiting.Remove(sessionId, out var wait))
                {
                    grants.Add((wait, null));
                }
            }
        }

        foreach (var (wait, server) in grants)
        {
            wait.TrySetResult(server);
        }
    }

    public static ServerSettings ToServerSettings(ServerConfig server) =>
        new(server.Name, server.Weight, server.Backup, server.MaxConn);

    public static BackendSettings ToSettings(BackendConfig config, int tickMilliseconds)
    {
        int Ticks(TimeSpan span) => (int)Math.Clamp(Math.Ceiling(span.TotalMilliseconds / tickMilliseconds), 1, int.MaxValue);
        var check = config.Check is { } c
            ? new CheckTimings(Ticks(c.Inter), Ticks(c.FastInter), Ticks(c.DownInter), c.Rise, c.Fall)
            : null;
        var stick = config.Stick is { } s ? new StickSettings(s.Size, Ticks(s.Expire)) : null;
        return new BackendSettings(config.Balance, check, stick, config.MaxQueue, Ticks(config.Timeouts.Queue),
            config.Retries, config.Redispatch);
    }

    /// <summary>True when a reload can keep this backend's core and only swap servers: every setting
    /// that shapes the core is unchanged.</summary>
    public bool CanAdopt(BackendConfig next) =>
        next.Name == Config.Name && next.Balance == Config.Balance && next.Stick == Config.Stick
        && next.Check == Config.Check && next.Retries == Config.Retries && next.Redispatch == Config.Redispatch
        && next.MaxQueue == Config.MaxQueue && next.Timeouts == Config.Timeouts && next.Kubernetes == Config.Kubernetes;

    public static UInt128 ClientKey(EndPoint? remote)
    {
        if (remote is not IPEndPoint ip)
        {
            return 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        ip.Address.MapToIPv6().TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
