namespace Trireme.Balancer.Core;

/// <summary>
/// One backend's decisions, as a pure state machine: which server a new connection goes to
/// (roundrobin / leastconn / source, weights, backup servers, stick-on-source), how many connections
/// each server holds against its maxconn, who waits in the bounded queue, and each server's health
/// from check results.
///
/// Shape (as etcd-io/raft): the host calls <see cref="Tick"/> from its heartbeat and the Step-like
/// methods (<see cref="Assign"/>, <see cref="ConnectFailed"/>, <see cref="Release"/>,
/// <see cref="StepCheckResult"/>) as events arrive, all under one lock; then it takes
/// <see cref="TakeReady"/> and does the IO it asks for. Nothing here reads a clock or touches a socket,
/// so a test drives it tick by tick.
/// </summary>
public sealed partial class BackendCore
{
    // Stick entries expired per tick: bounded so one tick's work does not grow with the table.
    private const int MaxStickExpiriesPerTick = 256;

    private readonly List<Server> _servers = [];
    private readonly Dictionary<long, Session> _sessions = [];
    private readonly LinkedList<long> _queue = new();
    private BackendReady _ready = new();
    private int _nextServerId;
    private int _leastConnCursor;

    public BackendCore(BackendSettings settings, IEnumerable<ServerSettings> servers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Checks?.Validate();
        if (settings.MaxQueue < 0 || settings.Retries < 0 || settings.QueueTimeoutTicks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), "queue bound, queue timeout and retries must be non-negative");
        }

        Settings = settings;
        Stick = settings.Stick is null ? null : new StickTable(settings.Stick);
        foreach (var server in servers)
        {
            AddServer(server);
        }
    }

    public BackendSettings Settings { get; }

    public long NowTicks { get; private set; }

    /// <summary>The servers in configuration order (a dynamically removed server leaves the list at
    /// once; its remaining sessions still release against it).</summary>
    public IReadOnlyList<Server> Servers => _servers;

    public StickTable? Stick { get; }

    public int CurrentSessions { get; private set; }

    public int MaxSessions { get; private set; }

    public long TotalSessions { get; private set; }

    public int QueueLength => _queue.Count;

    public int MaxQueueLength { get; private set; }

    public long RejectedNoServer { get; private set; }

    public long RejectedQueueFull { get; private set; }

    public long QueueTimeouts { get; private set; }

    public long ConnectFailuresFinal { get; private set; }

    /// <summary>Number of sessions the core tracks (assigned or queued); the host's accounting check.</summary>
    public int TrackedSessions => _sessions.Count;

    public bool HasReady => !_ready.IsEmpty;

    public BackendReady TakeReady()
    {
        var ready = _ready;
        if (!ready.IsEmpty)
        {
            _ready = new BackendReady();
        }

        return ready;
    }

    /// <summary>Advances time by one tick: probes that fall due, queue waits that expire, stick entries
    /// that expire.</summary>
    public void Tick()
    {
        NowTicks++;
        foreach (var server in _servers)
        {
            if (server.Health is not { } health)
            {
                continue;
            }

            if (!health.IsUp)
            {
                server.DowntimeTicks++;
            }

            if (server.AdminState != ServerAdminState.Maint && health.Tick())
            {
                _ready.ChecksDue.Add(server);
            }
        }

        ExpireQueue();
        Stick?.Expire(NowTicks, MaxStickExpiriesPerTick);
    }

    /// <summary>Records a probe's outcome for the server with <paramref name="serverId"/>; a result for a
    /// server that has since been removed is ignored.</summary>
    public void StepCheckResult(int serverId, CheckResult result)
    {
        var server = FindServer(serverId);
        if (server?.Health is not { } health)
        {
            return;
        }

        server.LastCheck = result;
        if (!result.Succeeded)
        {
            server.FailedChecks++;
        }

        var transition = health.Step(result.Succeeded);
        server.RunTarget = health.IsUp ? Settings.Checks!.Fall : Settings.Checks!.Rise;
        if (transition == HealthTransition.None)
        {
            return;
        }

        server.LastChangeTick = NowTicks;
        if (transition == HealthTransition.WentDown)
        {
            server.DownTransitions++;
        }
        else
        {
            server.UpTransitions++;
        }

        _ready.Transitions.Add((server, transition));
        DrainQueue();
    }

    /// <summary>Sets a server's operator state; false when no server has that name.</summary>
    public bool SetAdminState(string serverName, ServerAdminState state)
    {
        var server = _servers.Find(s => s.Name == serverName);
        if (server is null)
        {
            return false;
        }

        if (server.AdminState != state)
        {
            server.AdminState = state;
            server.LastChangeTick = NowTicks;
            DrainQueue();
        }

        return true;
    }

    /// <summary>
    /// Replaces the server list (dynamic backends, reload): servers keep their health and counters when
    /// their name stays, new names are added (UP, checked on the next tick), missing names are removed.
    /// </summary>
    public void SetServers(IReadOnlyList<ServerSettings> desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        var wanted = desired.ToDictionary(s => s.Name, StringComparer.Ordinal);
        for (var i = _servers.Count - 1; i >= 0; i--)
        {
            var server = _servers[i];
            if (wanted.Remove(server.Name, out var settings))
            {
                server.Settings = settings;
                continue;
            }

            server.Removed = true;
            _servers.RemoveAt(i);
        }

        foreach (var settings in desired)
        {
            if (wanted.ContainsKey(settings.Name))
            {
                AddServer(settings);
            }
        }

        // Keep configuration order, which the stats page and roundrobin follow.
        var order = desired.Select((s, i) => (s.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        _servers.Sort((a, b) => order[a.Name].CompareTo(order[b.Name]));
        DrainQueue();
    }

    private Server AddServer(ServerSettings settings)
    {
        if (settings.Weight < 0 || settings.MaxConn < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), "weight and maxconn must be non-negative");
        }

        var server = new Server(_nextServerId++, settings, Settings.Checks)
        {
            RunTarget = Settings.Checks?.Fall ?? 0,
        };
        _servers.Add(server);
        return server;
    }

    private Server? FindServer(int serverId) => _servers.Find(s => s.Id == serverId);

    private sealed class Session(UInt128 client)
    {
        public UInt128 Client { get; } = client;

        public Server? Server { get; set; }

        /// <summary>Failed connect attempts so far.</summary>
        public int Attempts { get; set; }

        /// <summary>While queued: the server a sticky or source-hashed client must wait for.</summary>
        public Server? PinnedTo { get; set; }

        public LinkedListNode<long>? QueueNode { get; set; }

        public long EnqueuedAtTick { get; set; }
    }
}
