using System.Buffers;
using System.Net.Sockets;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// One client connection of the portable Socket engine (the epoll engine has its own,
/// <see cref="EpollSession"/>): ask the backend for a server (maybe waiting in its queue), connect with
/// retries, then move bytes both ways until both sides have closed. A FIN from one side becomes a
/// shutdown(SEND) towards the other (half-close passes through); a reset or a timeout closes both.
///
/// Timeouts are not timers: the host's heartbeat calls <see cref="CheckTimeouts"/> and this session
/// compares its own timestamps (Kestrel's pattern). Buffers come from the shared pool: a direction that
/// is quiet waits for data with a zero-byte receive and holds no buffer; one that is busy (reads less than
/// a second apart) keeps its buffer between reads to save a wake-up per message.
/// </summary>
internal sealed class ProxySession
{
    // HAProxy's default tune.bufsize: large enough that a kube watch event rarely takes two reads.
    private const int BufferSize = 16 * 1024;

    // A direction that read within this long of its previous read is busy and keeps its buffer while
    // it waits for more; a slower one returns it. Bounds buffer memory to connections that are active.
    private const long HotDirectionMilliseconds = 1000;

    private readonly Socket _client;
    private readonly FrontendRuntime _frontend;
    private readonly BackendRuntime _backend;
    private readonly BalancerHost _host;
    private Socket? _upstream;
    private ServerEndpoint? _endpoint;
    private long _phaseStartMs;
    private long _lastActivityMs;
    private int _phase;
    private int _closedDirections;
    private int _aborted;

    public ProxySession(long id, Socket client, FrontendRuntime frontend, BackendRuntime backend, BalancerHost host)
    {
        Id = id;
        _client = client;
        _frontend = frontend;
        _backend = backend;
        _host = host;
        _phaseStartMs = Environment.TickCount64;
        _lastActivityMs = _phaseStartMs;
    }

    public long Id { get; }

    private enum Phase
    {
        Waiting,
        Connecting,
        Established,
    }

    public async Task RunAsync()
    {
        _host.Sessions[Id] = this;
        var rejected = true;
        try
        {
            _client.NoDelay = true;
            var server = await _backend.AssignAsync(Id, BackendRuntime.ClientKey(_client.RemoteEndPoint)).ConfigureAwait(false);
            while (server is not null && Volatile.Read(ref _aborted) == 0)
            {
                if (await TryConnectAsync(server).ConfigureAwait(false))
                {
                    break;
                }

                server = await _backend.ConnectFailedAsync(Id).ConfigureAwait(false);
            }

            if (server is null || _upstream is null || Volatile.Read(ref _aborted) != 0)
            {
                return;
            }

            rejected = false;
            SetPhase(Phase.Established);
            var upstream = _upstream;

            var toServer = PumpAsync(_client, upstream, toServer: true);
            var toClient = PumpAsync(upstream, _client, toServer: false);
            await toServer.ConfigureAwait(false);
            await toClient.ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // The client went away before or while we were connecting: nothing to forward.
        }
        finally
        {
            _host.Sessions.TryRemove(Id, out _);
            _backend.Release(Id);
            _client.Dispose();
            _upstream?.Dispose();
            _frontend.SocketSessionEnded(rejected);
        }
    }

    private async ValueTask<bool> TryConnectAsync(Server server)
    {
        _endpoint = _backend.Endpoint(server.Id);
        if (_endpoint is null)
        {
            return false;
        }

        var socket = new Socket(_endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _upstream = socket;
        SetPhase(Phase.Connecting);
        try
        {
            await socket.ConnectAsync(_endpoint.Address).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            _upstream = null;
            return false;
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool toServer)
    {
        byte[]? buffer = null;
        var lastReadMs = 0L;
        try
        {
            while (true)
            {
                if (buffer is null)
                {
                    // Quiet direction: wait for data without a buffer, so that an idle connection
                    // holds no buffer memory at all (Kestrel's WaitForDataBeforeAllocatingBuffer).
                    await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                }

                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    // FIN: pass it on as a half-close, and keep the other direction running.
                    to.Shutdown(SocketShutdown.Send);
                    break;
                }

                var now = Environment.TickCount64;
                Volatile.Write(ref _lastActivityMs, now);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None).ConfigureAwait(false);
                Count(read, toServer);
                if (now - lastReadMs > HotDirectionMilliseconds)
                {
                    // Traffic is sparse (a watch event now and then): give the buffer back and wait
                    // without one. A busy direction keeps its buffer and saves the extra wake-up.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }

                lastReadMs = now;
            }

            Interlocked.Increment(ref _closedDirections);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // A reset on either side ends the whole session: close both so the other pump ends too.
            Abort();
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void Count(int bytes, bool toServer)
    {
        if (toServer)
        {
            _endpoint!.AddIn(bytes);
            _frontend.AddIn(bytes);
        }
        else
        {
            _endpoint!.AddOut(bytes);
            _frontend.AddOut(bytes);
        }
    }

    private void SetPhase(Phase phase)
    {
        Volatile.Write(ref _phaseStartMs, Environment.TickCount64);
        Volatile.Write(ref _lastActivityMs, Environment.TickCount64);
        Volatile.Write(ref _phase, (int)phase);
    }

    /// <summary>Called from the heartbeat: ends the session if the timeout of its phase has passed.
    /// Connecting: <c>timeout connect</c> (the attempt fails and may be retried). Established: no byte
    /// either way for <c>timeout tunnel</c>. Once one side has closed: the other direction idle for
    /// <c>timeout client</c>/<c>server</c>, whichever is shorter, so a half-open peer cannot hold the
    /// session forever.</summary>
    public void CheckTimeouts(long nowMs)
    {
        var timeouts = _backend.Config.Timeouts;
        switch ((Phase)Volatile.Read(ref _phase))
        {
            case Phase.Connecting:
                if (nowMs - Volatile.Read(ref _phaseStartMs) > timeouts.Connect.TotalMilliseconds)
                {
                    _upstream?.Dispose();
                }

                break;
            case Phase.Established:
                var idle = nowMs - Volatile.Read(ref _lastActivityMs);
                var limit = Volatile.Read(ref _closedDirections) > 0
                    ? Math.Min(Math.Min(timeouts.Client.TotalMilliseconds, timeouts.Server.TotalMilliseconds), timeouts.Tunnel.TotalMilliseconds)
                    : timeouts.Tunnel.TotalMilliseconds;
                if (idle > limit)
                {
                    _host.CountTimeout();
                    Abort();
                }

                break;
        }
    }

    /// <summary>Closes both sockets; pending receives and sends end with an exception.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        _client.Dispose();
        _upstream?.Dispose();
    }
}
