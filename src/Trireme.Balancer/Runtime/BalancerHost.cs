using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Balancer.Config;
using Trireme.Balancer.Core;
using Trireme.Balancer.Stats;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// The running balancer: frontends (listeners), backends (cores and their runtimes), the heartbeat that
/// drives every timer, the check probes, the stats endpoint and dynamic backends. Owns every socket and
/// task it starts and stops them in <see cref="DisposeAsync"/>.
///
/// Reload (<see cref="Reload"/>) builds the new configuration's pieces beside the running ones and
/// swaps them in: listeners whose address stays keep listening, backends whose settings stay keep
/// their health and sessions, and every established connection keeps forwarding to its server.
/// </summary>
public sealed partial class BalancerHost : IAsyncDisposable
{
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _reloadLock = new();
    private readonly Dictionary<string, FrontendRuntime> _frontends = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BackendRuntime> _backends = new(StringComparer.Ordinal);
    private readonly Dictionary<BackendRuntime, CancellationTokenSource> _watchers = [];
    private readonly Dictionary<BackendRuntime, CheckProbe> _probes = [];
    private Task? _heartbeat;
    private StatsServer? _stats;
    private long _nextSessionId;
    private long _timeouts;
    private long _reloads;

    public BalancerHost(BalancerConfig config, ILoggerFactory? loggers = null)
    {
        Config = config;
        Loggers = loggers ?? NullLoggerFactory.Instance;
        _log = Loggers.CreateLogger("Trireme.Balancer");
        GlobalSlots = new SemaphoreSlim(config.Global.MaxConn, config.Global.MaxConn);
        Engine = config.Global.Engine == ForwardingEngine.Epoll && EpollNative.Supported ? new EpollEngine(this) : null;
    }

    public BalancerConfig Config { get; private set; }

    /// <summary>The epoll forwarding engine, or null for the portable Socket engine
    /// (<c>global.engine</c>; epoll is the default where it is supported).</summary>
    internal EpollEngine? Engine { get; }

    public ILoggerFactory Loggers { get; }

    /// <summary>Global maxconn. Fixed at start: a reload does not change it (restart to change it).</summary>
    internal SemaphoreSlim GlobalSlots { get; }

    internal ConcurrentDictionary<long, ProxySession> Sessions { get; } = new();

    public long Timeouts => Interlocked.Read(ref _timeouts);

    public long Reloads => Interlocked.Read(ref _reloads);

    /// <summary>Where the stats endpoint listens (resolved port), once started.</summary>
    public IPEndPoint? StatsEndPoint => _stats?.EndPoint;

    internal long NextSessionId() => Interlocked.Increment(ref _nextSessionId);

    internal void CountTimeout() => Interlocked.Increment(ref _timeouts);

    /// <summary>The address a frontend actually listens on.</summary>
    public IPEndPoint FrontendEndPoint(string name)
    {
        lock (_reloadLock)
        {
            return _frontends[name].BoundEndPoint;
        }
    }

    public async Task StartAsync()
    {
        lock (_reloadLock)
        {
            Apply(Config);
        }

        _heartbeat = HeartbeatAsync(_stopping.Token);
        await RestartStatsAsync(null).ConfigureAwait(false);
        LogStarted(_log, Config.Frontends.Count, Config.Backends.Count);
    }

    /// <summary>Swaps in a configuration that has already passed <see cref="ConfigParser"/>.</summary>
    public async Task ReloadAsync(BalancerConfig next)
    {
        StatsConfig? previousStats;
        lock (_reloadLock)
        {
            previousStats = Config.Stats;
            Apply(next);
            Config = next;
        }

        if (previousStats != next.Stats)
        {
            await RestartStatsAsync(previousStats).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _reloads);
        LogReloaded(_log, next.Frontends.Count, next.Backends.Count);
    }

    /// <summary>Reads, checks and applies a configuration file; a bad file is logged and changes nothing.</summary>
    public async Task<bool> ReloadFromFileAsync(string path)
    {
        BalancerConfig next;
        try
        {
            next = ConfigParser.ParseFile(path);
        }
        catch (ConfigException e)
        {
            LogReloadRefused(_log, e.Message);
            return false;
        }

        await ReloadAsync(next).ConfigureAwait(false);
        return true;
    }

    /// <summary>Puts a server in drain, maint or ready; false when backend or server is unknown.</summary>
    public bool SetServerState(string backend, string server, ServerAdminState state)
    {
        BackendRuntime? runtime;
        lock (_reloadLock)
        {
            runtime = _backends.GetValueOrDefault(backend);
        }

        var found = runtime?.SetAdminState(server, state) ?? false;
        if (found)
        {
            LogAdminState(_log, backend, server, state);
        }

        return found;
    }

    public StatsSnapshot Snapshot()
    {
        lock (_reloadLock)
        {
            return StatsSnapshot.Capture(_frontends.Values, _backends.Values, Timeouts, Reloads);
        }
    }

    private void Apply(BalancerConfig next)
    {
        var backends = new Dictionary<string, BackendRuntime>(StringComparer.Ordinal);
        foreach (var config in next.Backends)
        {
            if (_backends.TryGetValue(config.Name, out var running) && running.CanAdopt(config))
            {
                if (config.Kubernetes is null)
                {
                    running.SetServers(config.Servers);
                }

                backends[config.Name] = running;
            }
            else
            {
                backends[config.Name] = new BackendRuntime(config, next.Global.TickMilliseconds);
            }
        }

        // Bind new listeners before closing anything, so a bind failure leaves the old set running.
        var frontends = new Dictionary<string, FrontendRuntime>(StringComparer.Ordinal);
        var opened = new List<FrontendRuntime>();
        try
        {
            foreach (var config in next.Frontends)
            {
                var backend = backends[config.Backend];
                if (_frontends.TryGetValue(config.Name, out var running) && running.Config.Bind.Equals(config.Bind)
                    && running.Config.MaxConn == config.MaxConn)
                {
                    running.Retarget(config, backend);
                    frontends[config.Name] = running;
                    continue;
                }

                var reuse = _frontends.Values.FirstOrDefault(f => f.Config.Bind.Equals(config.Bind) && config.Bind.Port != 0);
                reuse?.Dispose();
                var frontend = new FrontendRuntime(config, backend, this);
                opened.Add(frontend);
                frontends[config.Name] = frontend;
            }
        }
        catch
        {
            foreach (var frontend in opened)
            {
                frontend.Dispose();
            }

            throw;
        }

        foreach (var (name, frontend) in _frontends)
        {
            if (!frontends.TryGetValue(name, out var kept) || kept != frontend)
            {
                frontend.Dispose();
            }
        }

        foreach (var frontend in opened)
        {
            frontend.Start(_stopping.Token);
        }

        foreach (var (runtime, watcher) in _watchers.ToArray())
        {
            if (!backends.ContainsValue(runtime))
            {
                watcher.Cancel();
                _watchers.Remove(runtime);
            }
        }

        _probes.Clear();
        foreach (var runtime in backends.Values)
        {
            if (runtime.Config.Check is { } check)
            {
                _probes[runtime] = new CheckProbe(check);
            }

            if (runtime.Config.Kubernetes is { } source && !_watchers.ContainsKey(runtime))
            {
                var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                _watchers[runtime] = cts;
                _ = new KubernetesBackendSource(runtime, source, _log).RunAsync(cts.Token);
            }
        }

        _backends.Clear();
        foreach (var (name, runtime) in backends)
        {
            _backends[name] = runtime;
        }

        _ticked = backends.Values.Select(b => (b, _probes.GetValueOrDefault(b))).ToArray();

        _frontends.Clear();
        foreach (var (name, frontend) in frontends)
        {
            _frontends[name] = frontend;
        }
    }

    private async Task RestartStatsAsync(StatsConfig? previous)
    {
        if (_stats is not null)
        {
            await _stats.DisposeAsync().ConfigureAwait(false);
            _stats = null;
        }

        if (Config.Stats is { } stats)
        {
            _stats = new StatsServer(this, stats);
            await _stats.StartAsync().ConfigureAwait(false);
        }

        _ = previous;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            await _heartbeat.ConfigureAwait(false);
        }

        if (_stats is not null)
        {
            await _stats.DisposeAsync().ConfigureAwait(false);
        }

        lock (_reloadLock)
        {
            foreach (var frontend in _frontends.Values)
            {
                frontend.Dispose();
            }
        }

        // The engine closes its sessions on its own thread; then the rest (connecting, queued) go.
        Engine?.Dispose();
        foreach (var session in Sessions.Values)
        {
            session.Abort();
        }

        _stopping.Dispose();
    }
}
