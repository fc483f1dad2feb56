using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Trireme.Store.Transport;

/// <summary>Called on a transport thread for each inbound frame; must not block for long. The frame
/// lives in a pooled receive buffer that is reused once the handler returns: copy what you keep.</summary>
public delegate void PeerFrameHandler(ulong from, ReadOnlyMemory<byte> frame);

/// <summary>
/// TCP (optionally mutual-TLS) links between store members carrying opaque length-prefixed frames
/// (<c>[u32 LE length][bytes]</c>; the Raft codec gives them meaning). One outbound connection per peer
/// fed by a bounded queue: a full queue drops the frame and reports the peer unreachable; queued frames
/// are coalesced into one write; a broken connection is redialled with capped exponential backoff.
/// Inbound connections are accepted only after the cluster-id/member-id handshake matches.
/// </summary>
public sealed partial class PeerTransport : IAsyncDisposable
{
    private readonly ulong _clusterId;
    private readonly ulong _localId;
    private readonly PeerTransportOptions _options;
    private readonly PeerFrameHandler _onFrame;
    private readonly Action<ulong> _onUnreachable;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, OutboundPeer> _peers = new();
    private readonly ConcurrentDictionary<Socket, byte> _inbound = new();
    private readonly ConcurrentDictionary<ulong, byte> _removed = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public PeerTransport(ulong clusterId, ulong localId, PeerTransportOptions options,
        PeerFrameHandler onFrame, Action<ulong> onUnreachable, ILogger logger)
    {
        _clusterId = clusterId;
        _localId = localId;
        _options = options;
        _onFrame = onFrame;
        _onUnreachable = onUnreachable;
        _logger = logger;
    }

    /// <summary>Starts listening; returns the bound endpoint (port 0 picks a free port).</summary>
    public IPEndPoint Listen(IPEndPoint endpoint)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endpoint);
        listener.Listen(128);
        _listener = listener;
        _acceptLoop = Task.Run(AcceptLoop);
        return (IPEndPoint)listener.LocalEndPoint!;
    }

    /// <summary>Adds or re-addresses a peer.</summary>
    public void SetPeer(ulong id, IPEndPoint endpoint)
    {
        if (id == _localId)
        {
            return;
        }

        _removed.TryRemove(id, out _);
        var existing = _peers.GetOrAdd(id, _ => new OutboundPeer(this, id, endpoint));
        existing.Endpoint = endpoint;
    }

    /// <summary>Stops talking to a removed member and refuses its inbound connections from now on.</summary>
    public void RemovePeer(ulong id)
    {
        _removed[id] = 0;
        if (_peers.TryRemove(id, out var peer))
        {
            _ = peer.StopAsync();
        }
    }

    public IReadOnlyCollection<ulong> Peers => _peers.Keys.ToList();

    /// <summary>Queues <paramref name="frame"/> for <paramref name="to"/>. False (and Raft hears
    /// "unreachable") when the peer is unknown or its queue is full.</summary>
    public bool Send(ulong to, byte[] frame)
    {
        if (_peers.TryGetValue(to, out var peer) && (peer.TrySendInline(frame) || peer.Queue.Writer.TryWrite(frame)))
        {
            return true;
        }

        _onUnreachable(to);
        return false;
    }

    private async Task AcceptLoop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _inbound[socket] = 0;
            _ = Task.Run(() => ServeInbound(socket));
        }
    }

    private async Task ServeInbound(Socket socket)
    {
        socket.NoDelay = true;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            handshakeTimeout.CancelAfter(TimeSpan.FromSeconds(10));
            if (_options.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsServerAsync(tls.ServerOptions(), handshakeTimeout.Token).ConfigureAwait(false);
            }

            var hello = new byte[PeerHandshake.Bytes];
            await stream.ReadExactlyAsync(hello, handshakeTimeout.Token).ConfigureAwait(false);
            var verdict = Judge(hello, out var from);
            await stream.WriteAsync(new[] { verdict }, handshakeTimeout.Token).ConfigureAwait(false);
            await stream.FlushAsync(handshakeTimeout.Token).ConfigureAwait(false);
            if (verdict != PeerHandshake.Accepted)
            {
                LogRejectedInbound(_logger, socket.RemoteEndPoint?.ToString(), PeerHandshake.Describe(verdict));
                return;
            }

            await ReadFramesOnThread(stream, from).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException
            or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // A peer going away is routine; Raft notices through missing responses.
        }
        finally
        {
            _inbound.TryRemove(socket, out _);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private byte Judge(byte[] hello, out ulong from)
    {
        if (!PeerHandshake.TryDecode(hello, out var clusterId, out from, out var to) || clusterId != _clusterId)
        {
            return PeerHandshake.WrongCluster;
        }

        if (to != _localId)
        {
            return PeerHandshake.WrongMember;
        }

        return _removed.ContainsKey(from) ? PeerHandshake.RemovedMember : PeerHandshake.Accepted;
    }

    /// <summary>Frames up to this size are read into buffers rented from the shared pool (an Append of
    /// up to 1 MiB of entries plus headers); larger ones (snapshots) get an array of their own.</summary>
    private const int MaxPooledFrameBytes = 2 * 1024 * 1024;

    /// <summary>
    /// Reads frames with blocking reads on a thread of its own (one per inbound connection, two per
    /// member in a 3-member cluster). An async read completes on the socket engine's thread and is then
    /// queued to the thread pool before the frame reaches the Raft loop; a blocking reader is woken by
    /// the kernel and hands the frame to the loop directly, one thread wake-up less per message.
    /// </summary>
    private Task ReadFramesOnThread(Stream stream, ulong from)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReadFrames(stream, from);
                done.TrySetResult();
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException
                or ObjectDisposedException)
            {
                done.TrySetResult(); // the connection went away; routine
            }
        }) { IsBackground = true, Name = $"peer-in-{from:x}" };
        thread.Start();
        return done.Task;
    }

    private void ReadFrames(Stream stream, ulong from)
    {
        var reader = new BufferedStream(stream, 64 * 1024);
        Span<byte> header = stackalloc byte[4];
        while (!_stopping.IsCancellationRequested)
        {
            reader.ReadExactly(header);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length > _options.MaxFrameBytes)
            {
                LogOversizedFrame(_logger, from, length);
                return;
            }

            var pooled = length <= MaxPooledFrameBytes;
            var buffer = pooled ? ArrayPool<byte>.Shared.Rent((int)length) : new byte[length];
            try
            {
                reader.ReadExactly(buffer, 0, (int)length);
                if (_removed.ContainsKey(from))
                {
                    return;
                }

                _onFrame(from, buffer.AsMemory(0, (int)length));
            }
            finally
            {
                if (pooled)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        foreach (var socket in _inbound.Keys)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_peers.Values.Select(p => p.StopAsync())).ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "peer connection from {Remote} refused: {Reason}")]
    private static partial void LogRejectedInbound(ILogger logger, string? remote, string reason);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "peer {Peer:x} sent a {Length}-byte frame, over the limit; connection closed")]
    private static partial void LogOversizedFrame(ILogger logger, ulong peer, uint length);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "connected to peer {Peer:x} at {Endpoint}")]
    private static partial void LogConnected(ILogger logger, ulong peer, IPEndPoint endpoint);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Debug, Message = "peer {Peer:x} at {Endpoint} unreachable: {Reason}; retrying in {BackoffMs} ms")]
    private static partial void LogDialFailed(ILogger logger, ulong peer, IPEndPoint endpoint, string reason, double backoffMs);
}
