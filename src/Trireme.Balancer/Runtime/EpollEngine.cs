using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Trireme.Balancer.Runtime.EpollNative;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// HAProxy's shape on one thread: a level-triggered epoll loop that moves bytes between the two sockets
/// of each established session with plain recv/send. Profiling the Socket engine showed most of a
/// keep-alive request's cost in system calls, a third of them receives that only answer EAGAIN (the
/// runtime tries a receive before it waits); with level-triggered epoll a receive is issued only when
/// data is there. Buffers are rented when a read finds data and returned once it is sent, so an idle
/// session holds none. Backpressure: while a direction has unsent bytes its source is not read.
///
/// Threads: sessions are attached from any thread through a command queue and an eventfd; everything
/// else (reads, writes, closes, timeouts of attached sessions) happens on the loop thread only, so a
/// session's state needs no lock. The loop checks its sessions' timeouts every 100 ms itself, on the
/// same rules as <see cref="ProxySession.CheckTimeouts"/>.
/// </summary>
internal sealed class EpollEngine : IDisposable
{
    private const int BufferSize = 16 * 1024;
    private const int MaxEvents = 256;
    private const int TimeoutScanMilliseconds = 100;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly Dictionary<long, Pair> _pairs = [];
    private long _nextId = 1;
    private int _wakePending;
    private volatile bool _stopping;

    public EpollEngine()
    {
        _epoll = EpollCreate1(0x80000);
        _wake = EventFd(0, 0x80000 | 0x800);
        if (_epoll < 0 || _wake < 0)
        {
            throw new InvalidOperationException($"epoll setup failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var ev = new EpollEvent { Events = EpollIn, Data = 0 };
        EpollCtl(_epoll, CtlAdd, _wake, ref ev);
        _thread = new Thread(Loop) { IsBackground = true, Name = "trireme-lb-epoll" };
        _thread.Start();
    }

    /// <summary>
    /// Connects <paramref name="upstream"/> (non-blocking, watched by the loop, so .NET's own epoll never
    /// sees these sockets), then forwards between it and <paramref name="client"/> until both sides
    /// closed, a reset or a timeout. Answers false when the connect failed or timed out (the caller
    /// disposes the upstream socket and may retry), true once the forwarded session has ended and both
    /// sockets are closed. The answer's continuation runs on the loop thread: it must not block.
    /// </summary>
    public Task<bool> ConnectAndForwardAsync(ProxySession session, Socket client, Socket upstream, IPEndPoint address,
        TimeSpan connectTimeout)
    {
        client.Blocking = false;
        upstream.Blocking = false;
        bool connected;
        try
        {
            upstream.Connect(address);
            connected = true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            connected = false;
        }
        catch (SocketException)
        {
            return Task.FromResult(false);
        }

        var done = new TaskCompletionSource<bool>();
        var deadline = Environment.TickCount64 + (long)connectTimeout.TotalMilliseconds;
        Post(() =>
        {
            var id = _nextId++;
            var pair = new Pair(id, session, client, upstream, done)
            {
                Connecting = !connected,
                ConnectDeadlineMs = deadline,
                LastActivityMs = Environment.TickCount64,
            };
            _pairs[id] = pair;
            var ok = connected
                ? Register(pair.ClientFd, id, 0, EpollIn) && Register(pair.UpstreamFd, id, 1, EpollIn)
                : Register(pair.UpstreamFd, id, 1, EpollOut);
            if (!connected)
            {
                pair.ClientInterest = 0;
                pair.UpstreamInterest = EpollOut;
            }

            if (!ok)
            {
                FailConnect(pair);
            }
        });
        return done.Task;
    }

    private void CompleteConnect(Pair pair, uint events)
    {
        var error = (int)pair.Upstream.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != 0 || (events & EpollErr) != 0)
        {
            FailConnect(pair);
            return;
        }

        pair.Connecting = false;
        Register(pair.ClientFd, pair.Id, 0, EpollIn);
        pair.ClientInterest = EpollIn;
        UpdateInterest(pair);
    }

    /// <summary>Gives a failed connect back to the session; the sockets stay open (the client for the
    /// retry, the upstream for the caller to dispose).</summary>
    private void FailConnect(Pair pair)
    {
        pair.Closed = true;
        _pairs.Remove(pair.Id);
        var ev = default(EpollEvent);
        EpollCtl(_epoll, CtlDel, pair.UpstreamFd, ref ev);
        pair.Done.TrySetResult(false);
    }

    private bool Register(int fd, long id, int side, int events)
    {
        var ev = new EpollEvent { Events = (uint)events, Data = ((ulong)id << 1) | (uint)side };
        return EpollCtl(_epoll, CtlAdd, fd, ref ev) == 0;
    }

    private void Post(Action command)
    {
        _commands.Enqueue(command);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Write(_wake, ref one, 8);
        }
    }

    private void Loop()
    {
        var events = new EpollEvent[MaxEvents];
        var lastScan = Environment.TickCount64;
        while (!_stopping)
        {
            var n = EpollWait(_epoll, events, MaxEvents, TimeoutScanMilliseconds);
            var now = Environment.TickCount64;
            for (var i = 0; i < n; i++)
            {
                var data = events[i].Data;
                if (data == 0)
                {
                    ulong value = 0;
                    Read(_wake, ref value, 8);
                    Volatile.Write(ref _wakePending, 0);
                    continue;
                }

                var id = (long)(data >> 1);
                if (!_pairs.TryGetValue(id, out var pair))
                {
                    continue;
                }

                pair.LastActivityMs = now;
                try
                {
                    if (pair.Connecting)
                    {
                        CompleteConnect(pair, events[i].Events);
                    }
                    else
                    {
                        OnEvent(pair, (int)(data & 1), events[i].Events);
                    }
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    // A socket closed under us (shutdown): end that session, keep the loop for the rest.
                    if (pair.Connecting)
                    {
                        FailConnect(pair);
                    }
                    else
                    {
                        ClosePair(pair);
                    }
                }
            }

            while (_commands.TryDequeue(out var command))
            {
                try
                {
                    command();
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    // The session was aborted before the loop took it; its sockets are already closed.
                }
            }

            if (now - lastScan >= TimeoutScanMilliseconds)
            {
                lastScan = now;
                ScanTimeouts(now);
            }
        }

        foreach (var pair in _pairs.Values.ToArray())
        {
            if (pair.Connecting)
            {
                FailConnect(pair);
            }
            else
            {
                ClosePair(pair);
            }
        }
    }

    private void OnEvent(Pair pair, int side, uint events)
    {
        // side 0: the client's socket, 1: the server's. An error (a reset) ends the session at once.
        if ((events & EpollErr) != 0)
        {
            ClosePair(pair);
            return;
        }

        var reading = side == 0 ? pair.ToServer : pair.ToClient;
        if ((events & EpollHup) != 0 && reading.Eof)
        {
            // Both halves of this socket are shut and its bytes were all read: nothing more can move.
            ClosePair(pair);
            return;
        }

        if ((events & (EpollIn | EpollHup)) != 0)
        {
            if (side == 0)
            {
                Pump(pair, pair.ToServer, pair.ClientFd, pair.UpstreamFd, toServer: true);
            }
            else
            {
                Pump(pair, pair.ToClient, pair.UpstreamFd, pair.ClientFd, toServer: false);
            }
        }

        if (pair.Closed)
        {
            return;
        }

        if ((events & EpollOut) != 0)
        {
            // The socket we were writing to drained: flush what waited for it.
            var direction = side == 0 ? pair.ToClient : pair.ToServer;
            Flush(pair, direction, side == 0 ? pair.ClientFd : pair.UpstreamFd, toServer: side == 1);
        }

        if (!pair.Closed)
        {
            UpdateInterest(pair);
        }
    }

    private void Pump(Pair pair, Direction d, int from, int to, bool toServer)
    {
        if (d.Pending > 0 || d.Eof)
        {
            return;
        }

        d.Buffer ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        var read = Recv(from, ref d.Buffer[0], d.Buffer.Length, MsgDontWait);
        if (read > 0)
        {
            d.Offset = 0;
            d.Pending = (int)read;
            pair.Session.CountForwarded((int)read, toServer);
            Flush(pair, d, to, toServer);
            return;
        }

        if (read == 0)
        {
            d.Eof = true;
            ReturnBuffer(d);
            Shutdown(to, ShutWr);
            pair.Session.MarkHalfClosed();
            if (pair.ToServer.Eof && pair.ToClient.Eof)
            {
                ClosePair(pair);
            }

            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno != EAgain && errno != EIntr)
        {
            ClosePair(pair);
        }
    }

    private void Flush(Pair pair, Direction d, int to, bool toServer)
    {
        while (d.Pending > 0)
        {
            var sent = Send(to, ref d.Buffer![d.Offset], d.Pending, MsgDontWait | MsgNoSignal);
            if (sent > 0)
            {
                d.Offset += (int)sent;
                d.Pending -= (int)sent;
                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (sent < 0 && (errno == EAgain || errno == EIntr))
            {
                // Wait for EPOLLOUT on the destination; UpdateInterest arranges it.
                return;
            }

            ClosePair(pair);
            return;
        }

        ReturnBuffer(d);
        _ = toServer;
    }

    private static void ReturnBuffer(Direction d)
    {
        if (d.Buffer is not null && d.Pending == 0)
        {
            ArrayPool<byte>.Shared.Return(d.Buffer);
            d.Buffer = null;
        }
    }

    /// <summary>Read a side only while the other direction's bytes are all sent to it... precisely:
    /// read a source while its direction has nothing pending; write-watch a destination while it has.</summary>
    private void UpdateInterest(Pair pair)
    {
        var client = (pair.ToServer.Pending == 0 && !pair.ToServer.Eof ? EpollIn : 0) | (pair.ToClient.Pending > 0 ? EpollOut : 0);
        var upstream = (pair.ToClient.Pending == 0 && !pair.ToClient.Eof ? EpollIn : 0) | (pair.ToServer.Pending > 0 ? EpollOut : 0);
        if (client != pair.ClientInterest)
        {
            pair.ClientInterest = client;
            var ev = new EpollEvent { Events = (uint)client, Data = (ulong)pair.Id << 1 };
            EpollCtl(_epoll, CtlMod, pair.ClientFd, ref ev);
        }

        if (upstream != pair.UpstreamInterest)
        {
            pair.UpstreamInterest = upstream;
            var ev = new EpollEvent { Events = (uint)upstream, Data = ((ulong)pair.Id << 1) | 1 };
            EpollCtl(_epoll, CtlMod, pair.UpstreamFd, ref ev);
        }
    }

    private void ScanTimeouts(long now)
    {
        foreach (var pair in _pairs.Values.ToArray())
        {
            if (pair.Connecting)
            {
                if (now > pair.ConnectDeadlineMs)
                {
                    FailConnect(pair);
                }
            }
            else if (pair.Session.IdleLimitExceeded(now - pair.LastActivityMs))
            {
                ClosePair(pair);
            }
        }
    }

    private void ClosePair(Pair pair)
    {
        if (pair.Closed)
        {
            return;
        }

        pair.Closed = true;
        _pairs.Remove(pair.Id);
        var ev = default(EpollEvent);
        EpollCtl(_epoll, CtlDel, pair.ClientFd, ref ev);
        EpollCtl(_epoll, CtlDel, pair.UpstreamFd, ref ev);
        foreach (var d in (Direction[])[pair.ToServer, pair.ToClient])
        {
            if (d.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(d.Buffer);
                d.Buffer = null;
            }
        }

        pair.Client.Dispose();
        pair.Upstream.Dispose();
        pair.Done.TrySetResult(true);
    }

    public void Dispose()
    {
        _stopping = true;
        Post(() => { });
        _thread.Join(TimeSpan.FromSeconds(5));
        Close(_epoll);
        Close(_wake);
    }

    private sealed class Direction
    {
        public byte[]? Buffer;
        public int Offset;
        public int Pending;
        public bool Eof;
    }

    private sealed class Pair(long id, ProxySession session, Socket client, Socket upstream, TaskCompletionSource<bool> done)
    {
        public long Id { get; } = id;

        public ProxySession Session { get; } = session;

        public Socket Client { get; } = client;

        public Socket Upstream { get; } = upstream;

        public int ClientFd { get; } = (int)client.Handle;

        public int UpstreamFd { get; } = (int)upstream.Handle;

        public TaskCompletionSource<bool> Done { get; } = done;

        public bool Connecting { get; set; }

        public long ConnectDeadlineMs { get; set; }

        public Direction ToServer { get; } = new();

        public Direction ToClient { get; } = new();

        public int ClientInterest { get; set; } = EpollIn;

        public int UpstreamInterest { get; set; } = EpollIn;

        public long LastActivityMs { get; set; }

        public bool Closed { get; set; }
    }

}
