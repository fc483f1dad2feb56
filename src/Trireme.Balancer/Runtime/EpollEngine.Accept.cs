using System.Runtime.InteropServices;
using static Trireme.Balancer.Runtime.EpollNative;

namespace Trireme.Balancer.Runtime;

// Listeners on the loop: accept4 in batches while epoll reports a listener readable, the peer address
// from accept4 itself, and maxconn applied before each accept — at the global or frontend limit the
// listener leaves the epoll set and new clients wait in the kernel's backlog (HAProxy does the same),
// until a session ends.
internal sealed partial class EpollEngine
{
    // Accepts per listener per wake-up (HAProxy's tune.maxaccept is 64): one busy listener cannot
    // starve established sessions, and the loop returns to them between batches.
    private const int MaxAcceptsPerWake = 64;

    private readonly int _maxConn;
    private readonly byte[] _peer = new byte[SockAddrBytes];
    private readonly List<Listener> _listeners = [];
    private int _sessions;

    /// <summary>Starts accepting on <paramref name="frontend"/>'s listening descriptor. The kernel's
    /// backlog holds clients that arrive before the loop takes the command.</summary>
    public void AddListener(FrontendRuntime frontend, int fd) => Post(() =>
    {
        var listener = new Listener(frontend, fd, NextTag());
        Put(fd, listener);
        _listeners.Add(listener);
        Enable(listener);
    });

    /// <summary>Stops accepting on <paramref name="frontend"/>; returns once the loop will no longer touch
    /// its descriptor, so the caller may close it (and bind its address again) right away.</summary>
    public void RemoveListener(FrontendRuntime frontend)
    {
        void Remove()
        {
            var listener = _listeners.Find(l => l.Frontend == frontend);
            if (listener is null)
            {
                return;
            }

            _listeners.Remove(listener);
            Forget(listener.Fd);
            var ev = default(EpollEvent);
            EpollCtl(_epoll, CtlDel, listener.Fd, ref ev);
        }

        if (Environment.CurrentManagedThreadId == _thread.ManagedThreadId)
        {
            Remove();
            return;
        }

        using var done = new ManualResetEventSlim();
        Post(() =>
        {
            Remove();
            done.Set();
        });
        while (!done.Wait(50))
        {
            if (!_thread.IsAlive)
            {
                return;
            }
        }
    }

    private void AcceptBatch(Listener listener, long now)
    {
        for (var i = 0; i < MaxAcceptsPerWake; i++)
        {
            var frontend = listener.Frontend;
            if (_sessions >= _maxConn || (frontend.Config.MaxConn > 0 && frontend.CurrentSessions >= frontend.Config.MaxConn))
            {
                Disable(listener, retryAtMs: long.MaxValue);
                return;
            }

            var length = SockAddrBytes;
            var fd = Accept4(listener.Fd, ref _peer[0], ref length, SockNonBlock | SockCloExec);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is EMFile or ENFile or ENoBufs or ENoMem)
                {
                    // Out of descriptors or memory: stop accepting for a moment instead of spinning on a
                    // listener that stays readable.
                    Disable(listener, retryAtMs: now + TimeoutScanMilliseconds);
                }

                // EAGAIN: the backlog is empty. Anything else (ECONNABORTED...) was that client's problem.
                if (errno is EAgain or EMFile or ENFile or ENoBufs or ENoMem)
                {
                    return;
                }

                continue;
            }

            var one = 1;
            SetSockOpt(fd, IpProtoTcp, TcpNoDelay, ref one, sizeof(int));
            StartSession(frontend, fd, SockAddr.ClientKey(_peer), now);
        }
    }

    private void Enable(Listener listener)
    {
        var ev = new EpollEvent { Events = EpollIn, Data = EventData(listener.Fd, listener.Tag) };
        EpollCtl(_epoll, listener.Enabled ? CtlMod : CtlAdd, listener.Fd, ref ev);
        listener.Enabled = true;
        listener.Paused = false;
    }

    private void Disable(Listener listener, long retryAtMs)
    {
        var ev = new EpollEvent { Events = 0, Data = EventData(listener.Fd, listener.Tag) };
        EpollCtl(_epoll, CtlMod, listener.Fd, ref ev);
        listener.Paused = true;
        listener.RetryAtMs = retryAtMs;
    }

    /// <summary>Gives paused listeners back their events once there is room (a session ended) or their
    /// back-off after an accept error passed.</summary>
    private void ResumeListeners(long now)
    {
        if (_sessions >= _maxConn)
        {
            return;
        }

        foreach (var listener in _listeners)
        {
            if (!listener.Paused)
            {
                continue;
            }

            var frontend = listener.Frontend;
            var room = frontend.Config.MaxConn == 0 || frontend.CurrentSessions < frontend.Config.MaxConn;
            if (room && (listener.RetryAtMs == long.MaxValue || now >= listener.RetryAtMs))
            {
                Enable(listener);
            }
        }
    }

    private sealed class Listener(FrontendRuntime frontend, int fd, uint tag)
    {
        public FrontendRuntime Frontend { get; } = frontend;

        public int Fd { get; } = fd;

        public uint Tag { get; } = tag;

        public bool Enabled { get; set; }

        public bool Paused { get; set; }

        /// <summary>When paused by an accept error: when to try again; long.MaxValue when paused for
        /// maxconn (resumed as soon as a session ends).</summary>
        public long RetryAtMs { get; set; }
    }
}
