using System.Net;
using System.Net.Sockets;
using Trireme.Balancer.Config;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// One listening socket and its accept loop. Before each accept it takes a slot from the frontend's and
/// the global maxconn, so at the limit new clients wait in the kernel's backlog instead of being
/// accepted and then starved (HAProxy does the same). Its backend can be swapped by a reload while it
/// keeps listening, so established and newly arriving clients see no gap.
/// </summary>
internal sealed class FrontendRuntime : IDisposable
{
    private readonly Socket _listener;
    private readonly SemaphoreSlim? _frontendSlots;
    private readonly BalancerHost _host;
    private long _currentSessions;
    private long _maxSessions;
    private long _totalSessions;
    private long _bytesIn;
    private long _bytesOut;
    private long _rejected;
    private volatile BackendRuntime _backend;
    private volatile bool _disposed;

    public FrontendRuntime(FrontendConfig config, BackendRuntime backend, BalancerHost host)
    {
        Config = config;
        _backend = backend;
        _host = host;
        _frontendSlots = config.MaxConn > 0 ? new SemaphoreSlim(config.MaxConn, config.MaxConn) : null;
        _listener = new Socket(config.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(config.Bind);
        _listener.Listen(4096);
        BoundEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public FrontendConfig Config { get; private set; }

    /// <summary>The address actually bound (the port is known here when the config asked for 0).</summary>
    public IPEndPoint BoundEndPoint { get; }

    public BackendRuntime Backend => _backend;

    public long CurrentSessions => Interlocked.Read(ref _currentSessions);

    public long MaxSessions => Interlocked.Read(ref _maxSessions);

    public long TotalSessions => Interlocked.Read(ref _totalSessions);

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    /// <summary>Clients closed without a server: no server UP, queue full or timed out, connects failed.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public void Retarget(FrontendConfig config, BackendRuntime backend)
    {
        Config = config;
        _backend = backend;
    }

    /// <summary>Starts accepting: on the epoll engine's loop when there is one, else with an accept
    /// loop of its own (the portable Socket engine).</summary>
    public void Start(CancellationToken stopping)
    {
        if (_host.Engine is { } engine)
        {
            _listener.Blocking = false;
            engine.AddListener(this, (int)_listener.Handle);
            return;
        }

        _ = AcceptLoopAsync(stopping);
    }

    private async Task AcceptLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            var frontendSlot = false;
            var globalSlot = false;
            try
            {
                if (_frontendSlots is not null)
                {
                    await _frontendSlots.WaitAsync(stopping).ConfigureAwait(false);
                    frontendSlot = true;
                }

                await _host.GlobalSlots.WaitAsync(stopping).ConfigureAwait(false);
                globalSlot = true;
                client = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (frontendSlot)
                {
                    _frontendSlots!.Release();
                }

                if (globalSlot)
                {
                    _host.GlobalSlots.Release();
                }

                // A failed accept (e.g. the client reset while in the backlog) is that client's problem;
                // only a closed listener or shutdown ends the loop.
                if (e is SocketException && !stopping.IsCancellationRequested && !_disposed)
                {
                    continue;
                }

                return;
            }

            SessionStarted();
            var session = new ProxySession(_host.NextSessionId(), client, this, _backend, _host);
            _ = session.RunAsync();
        }
    }

    /// <summary>Counts an accepted client.</summary>
    public void SessionStarted()
    {
        var current = Interlocked.Increment(ref _currentSessions);
        Interlocked.Increment(ref _totalSessions);
        UpdateMax(current);
    }

    /// <summary>Called once per session when it ends, whatever the reason. (The epoll engine applies
    /// maxconn itself; the Socket engine's accept loop also gives back its slots, see
    /// <see cref="SocketSessionEnded"/>.)</summary>
    public void SessionEnded(bool rejected)
    {
        Interlocked.Decrement(ref _currentSessions);
        if (rejected)
        {
            Interlocked.Increment(ref _rejected);
        }
    }

    /// <summary>The Socket engine's end of a session: counted, and its maxconn slots released.</summary>
    public void SocketSessionEnded(bool rejected)
    {
        SessionEnded(rejected);
        _frontendSlots?.Release();
        _host.GlobalSlots.Release();
    }

    public void AddIn(int bytes) => Interlocked.Add(ref _bytesIn, bytes);

    public void AddOut(int bytes) => Interlocked.Add(ref _bytesOut, bytes);

    private void UpdateMax(long current)
    {
        var seen = Interlocked.Read(ref _maxSessions);
        while (current > seen)
        {
            var was = Interlocked.CompareExchange(ref _maxSessions, current, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    /// <summary>Stops listening. Sessions already accepted carry on to their own end.</summary>
    public void Dispose()
    {
        _disposed = true;
        _host.Engine?.RemoveListener(this);
        _listener.Dispose();
    }
}
