using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static Trireme.Balancer.Runtime.EpollNative;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// HAProxy's shape on one thread: a level-triggered epoll loop that accepts, connects and moves bytes
/// on raw descriptors with accept4/connect/recv/send. Profiling showed the cost of a new connection in
/// the layers around the system calls (AcceptAsync, a Socket per side, getpeername, fcntl, two thread
/// hops to reach this loop), so the whole life of a connection now happens here: listeners are in the
/// same epoll set, accepts are batched, the peer address comes from accept4 itself, the upstream socket
/// is created non-blocking, and a session is one plain object (<see cref="EpollSession"/>).
///
/// A receive is issued only when epoll says data is there. Buffers are rented when a read finds data
/// and returned once it is sent, so an idle session holds none. Backpressure: while a direction has
/// unsent bytes its source is not read.
///
/// Threads: everything about sessions and listeners happens on the loop thread; other threads reach it
/// through <see cref="Post"/> (a queue and an eventfd): listener changes from reloads and queued
/// sessions whose backend decision completes later. The loop applies connect and idle timeouts itself
/// every <see cref="TimeoutScanMilliseconds"/>.
/// </summary>
internal sealed partial class EpollEngine : IDisposable
{
    private const int BufferSize = 16 * 1024;
    private const int MaxEvents = 256;
    private const int TimeoutScanMilliseconds = 100;
    private const ulong WakeData = ulong.MaxValue;

    private readonly BalancerHost _host;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly List<EpollSession> _dirty = [];

    // Listeners and sessions by descriptor: a session sits at both of its descriptors.
    private object?[] _byFd = new object?[1024];
    private int _highestFd;
    private uint _nextTag;
    private int _wakePending;
    private Action? _tick;
    private int _tickMilliseconds;
    private long _nextTickMs;
    private volatile bool _stopping;

    public EpollEngine(BalancerHost host)
    {
        _host = host;
        _maxConn = host.Config.Global.MaxConn;
        _epoll = EpollCreate1(SockCloExec);
        _wake = EventFd(0, SockCloExec | SockNonBlock);
        if (_epoll < 0 || _wake < 0)
        {
            throw new InvalidOperationException($"epoll setup failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var ev = new EpollEvent { Events = EpollIn, Data = WakeData };
        EpollCtl(_epoll, CtlAdd, _wake, ref ev);
        _thread = new Thread(Loop) { IsBackground = true, Name = "trireme-lb-epoll" };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="command"/> on the loop thread.</summary>
    private void Post(Action command)
    {
        _commands.Enqueue(command);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Write(_wake, ref one, 8);
        }
    }

    /// <summary>Has the loop call <paramref name="tick"/> every <paramref name="tickMilliseconds"/>,
    /// between batches of events (the balancer's heartbeat).</summary>
    public void SetTicker(int tickMilliseconds, Action tick) => Post(() =>
    {
        _tickMilliseconds = tickMilliseconds;
        _nextTickMs = Environment.TickCount64 + tickMilliseconds;
        _tick = tick;
    });

    private void Loop()
    {
        var events = new EpollEvent[MaxEvents];
        var lastScan = Environment.TickCount64;
        while (!_stopping)
        {
            var n = EpollWait(_epoll, events, MaxEvents, WaitMilliseconds(lastScan));
            var now = Environment.TickCount64;
            for (var i = 0; i < n; i++)
            {
                Dispatch(events[i].Data, events[i].Events, now);
            }

            SettleDirty();

            while (_commands.TryDequeue(out var command))
            {
                command();
            }

            SettleDirty();

            if (_tick is not null && now >= _nextTickMs)
            {
                RunTicks(now);
            }

            if (now - lastScan >= TimeoutScanMilliseconds)
            {
                lastScan = now;
                ScanTimeouts(now);
            }
        }

        for (var fd = 0; fd <= _highestFd; fd++)
        {
            if (_byFd[fd] is EpollSession session)
            {
                CloseSession(session, rejected: false);
            }
        }
    }

    /// <summary>How long epoll_wait may sleep: until the next tick or the next timeout scan.</summary>
    private int WaitMilliseconds(long lastScan)
    {
        var now = Environment.TickCount64;
        var until = lastScan + TimeoutScanMilliseconds;
        if (_tick is not null)
        {
            until = Math.Min(until, _nextTickMs);
        }

        return (int)Math.Clamp(until - now, 0, TimeoutScanMilliseconds);
    }

    /// <summary>One tick per period that has passed, so the cores' time keeps pace with the clock after
    /// a slow batch — but at most MaxCatchUpTicks at once, then the schedule restarts from now.</summary>
    private void RunTicks(long now)
    {
        const int MaxCatchUpTicks = 10;
        for (var i = 0; i < MaxCatchUpTicks && now >= _nextTickMs; i++)
        {
            _nextTickMs += _tickMilliseconds;
            _tick!();
        }

        if (now >= _nextTickMs)
        {
            _nextTickMs = now + _tickMilliseconds;
        }
    }

    private void Dispatch(ulong data, uint events, long now)
    {
        if (data == WakeData)
        {
            ulong value = 0;
            Read(_wake, ref value, 8);
            Volatile.Write(ref _wakePending, 0);
            return;
        }

        var fd = (int)(uint)data;
        var tag = (uint)(data >> 32);
        switch (fd < _byFd.Length ? _byFd[fd] : null)
        {
            case Listener listener when listener.Tag == tag:
                AcceptBatch(listener, now);
                break;
            case EpollSession session when fd == session.ClientFd && tag == session.ClientTag:
                session.LastActivityMs = now;
                OnClientEvent(session, events);
                break;
            case EpollSession session when fd == session.UpstreamFd && tag == session.UpstreamTag:
                session.LastActivityMs = now;
                OnUpstreamEvent(session, events, now);
                break;
            default:
                // A descriptor closed earlier in this batch (and maybe already reused): stale.
                break;
        }
    }

    private uint NextTag() => ++_nextTag;

    private static ulong EventData(int fd, uint tag) => ((ulong)tag << 32) | (uint)fd;

    private void Put(int fd, object entry)
    {
        if (fd >= _byFd.Length)
        {
            Array.Resize(ref _byFd, Math.Max(_byFd.Length * 2, fd + 1));
        }

        _byFd[fd] = entry;
        _highestFd = Math.Max(_highestFd, fd);
    }

    private void Forget(int fd)
    {
        if (fd >= 0 && fd < _byFd.Length)
        {
            _byFd[fd] = null;
        }
    }

    /// <summary>Adds or changes the events watched on <paramref name="fd"/>; false when epoll refused.</summary>
    private bool Watch(int fd, uint tag, ref int current, int desired)
    {
        if (current == desired)
        {
            return true;
        }

        var ev = new EpollEvent { Events = (uint)desired, Data = EventData(fd, tag) };
        var op = current == EpollSession.NotRegistered ? CtlAdd : CtlMod;
        current = desired;
        return EpollCtl(_epoll, op, fd, ref ev) == 0;
    }

    private void ScanTimeouts(long now)
    {
        ResumeListeners(now);
        for (var fd = 0; fd <= _highestFd; fd++)
        {
            if (_byFd[fd] is not EpollSession session || fd != session.ClientFd)
            {
                continue;
            }

            if (session.State == EpollSessionState.Connecting)
            {
                if (now > session.ConnectDeadlineMs)
                {
                    AttemptFailed(session, now);
                }
            }
            else if (session.State == EpollSessionState.Established && IdleLimitExceeded(session, now - session.LastActivityMs))
            {
                CloseSession(session, rejected: false);
            }
        }
    }

    /// <summary>No byte either way for <c>timeout tunnel</c>; once one side has sent its FIN, the other
    /// direction idle for the shorter of <c>timeout client</c>/<c>server</c>, so a half-open peer
    /// cannot hold the session forever.</summary>
    private bool IdleLimitExceeded(EpollSession session, long idleMs)
    {
        var timeouts = session.Backend.Config.Timeouts;
        var limit = session.HalfClosed
            ? Math.Min(Math.Min(timeouts.Client.TotalMilliseconds, timeouts.Server.TotalMilliseconds), timeouts.Tunnel.TotalMilliseconds)
            : timeouts.Tunnel.TotalMilliseconds;
        if (idleMs <= limit)
        {
            return false;
        }

        _host.CountTimeout();
        return true;
    }

    public void Dispose()
    {
        _stopping = true;
        Post(() => { });
        _thread.Join(TimeSpan.FromSeconds(5));
        EpollNative.Close(_epoll);
        EpollNative.Close(_wake);
    }
}
