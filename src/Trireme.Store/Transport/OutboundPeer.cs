using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Trireme.Store.Transport;

public sealed partial class PeerTransport
{
    /// <summary>The single outbound connection to one peer and its bounded queue.</summary>
    private sealed class OutboundPeer
    {
        private readonly PeerTransport _owner;
        private readonly ulong _id;
        private readonly CancellationTokenSource _stop;
        private readonly Task _loop;

        public OutboundPeer(PeerTransport owner, ulong id, IPEndPoint endpoint)
        {
            _owner = owner;
            _id = id;
            Endpoint = endpoint;
            Queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(owner._options.MaxQueuedFramesPerPeer)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of waiting.
            });
            _stop = CancellationTokenSource.CreateLinkedTokenSource(owner._stopping.Token);
            _loop = Task.Run(Run);
        }

        public Channel<byte[]> Queue { get; }

        /// <summary>Frames at most this large may be written inline by the sender (see
        /// <see cref="TrySendInline"/>): Raft's heartbeats, acks and the Appends of a lightly loaded leader.</summary>
        private const int MaxInlineFrameBytes = 64 * 1024;

        /// <summary>A blocking inline write gives up after this long and the connection is redialled: a
        /// peer that stops reading must not hold the Raft loop (the queue and its drop rule take over).</summary>
        private static readonly TimeSpan InlineSendTimeout = TimeSpan.FromMilliseconds(200);

        /// <summary>Whoever writes to the connection holds this: the pump for a round of queued frames, or
        /// a sender writing inline. Non-reentrant, no spinning (a SemaphoreSlim waiter is woken asynchronously).</summary>
        private readonly SemaphoreSlim _writeGate = new(1, 1);

        /// <summary>The connected stream while the pump runs on it; null while (re)connecting.</summary>
        private volatile Stream? _connected;

        /// <summary>
        /// Writes <paramref name="frame"/> on the calling thread (the Raft loop) when the connection is up,
        /// idle and nothing is queued: the frame then leaves without waking the pump on the thread pool, one
        /// thread hand-off less per message (a 1-client put sends four). Order is kept: the gate is held by
        /// whoever writes, and an inline write happens only with the gate held and the queue empty. A
        /// failed or timed-out write closes the connection; the pump notices and redials, and Raft
        /// retransmits what was lost. False: queue it instead.
        /// </summary>
        public bool TrySendInline(byte[] frame)
        {
            var stream = _connected;
            if (stream is null || frame.Length > MaxInlineFrameBytes || !_writeGate.Wait(0))
            {
                return false;
            }

            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(frame.Length + 4);
            try
            {
                if (Queue.Reader.TryPeek(out _) || !ReferenceEquals(stream, _connected))
                {
                    return false;
                }

                BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)frame.Length);
                frame.CopyTo(buffer, 4);
                stream.Write(buffer, 0, frame.Length + 4);
                stream.Flush();
                return true;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                _connected = null;
                stream.Dispose(); // the pump's next write fails and it redials
                return true; // the frame is lost like any in a broken connection; Raft retransmits
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                _writeGate.Release();
            }
        }

        public volatile IPEndPoint Endpoint;

        public async Task StopAsync()
        {
            Queue.Writer.TryComplete();
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task Run()
        {
            var options = _owner._options;
            var backoff = options.InitialBackoff;
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                var endpoint = Endpoint;
                try
                {
                    await using var stream = await Connect(endpoint, token).ConfigureAwait(false);
                    LogConnected(_owner._logger, _id, endpoint);
                    backoff = options.InitialBackoff;
                    try
                    {
                        _connected = stream;
                        await Pump(stream, token).ConfigureAwait(false);
                    }
                    finally
                    {
                        _connected = null;
                    }

                    return; // queue completed: the peer was removed or the transport stopped
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException
                    or ObjectDisposedException or System.Security.Authentication.AuthenticationException
                    or PeerRejectedException)
                {
                    _owner._onUnreachable(_id);
                    // Jitter keeps members that lost the same peer from redialling in lockstep.
                    var delay = backoff * (0.75 + (Random.Shared.NextDouble() * 0.5));
                    LogDialFailed(_owner._logger, _id, endpoint, e.Message, delay.TotalMilliseconds);
                    try
                    {
                        await Task.Delay(delay, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
                }
            }
        }

        private async Task<Stream> Connect(IPEndPoint endpoint, CancellationToken token)
        {
            var options = _owner._options;
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            // Bounds a blocking inline write (TrySendInline); the pump's async writes ignore it.
            socket.SendTimeout = (int)InlineSendTimeout.TotalMilliseconds;
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            try
            {
                if (options.Tls is { } tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    await ssl.AuthenticateAsClientAsync(tls.ClientOptions(), timeout.Token).ConfigureAwait(false);
                }

                await stream.WriteAsync(PeerHandshake.Encode(_owner._clusterId, _owner._localId, _id), timeout.Token)
                    .ConfigureAwait(false);
                await stream.FlushAsync(timeout.Token).ConfigureAwait(false);
                var verdict = new byte[1];
                await stream.ReadExactlyAsync(verdict, timeout.Token).ConfigureAwait(false);
                if (verdict[0] != PeerHandshake.Accepted)
                {
                    throw new PeerRejectedException(PeerHandshake.Describe(verdict[0]));
                }

                return stream;
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>Drains whatever is queued into one buffered write + flush per round.</summary>
        private async Task Pump(Stream stream, CancellationToken token)
        {
            var options = _owner._options;
            var buffer = new BufferedStream(stream, options.MaxBytesPerWrite + 4);
            var header = new byte[4];
            var reader = Queue.Reader;
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                await _writeGate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    if (!ReferenceEquals(_connected, stream))
                    {
                        throw new IOException("the connection failed during an inline write");
                    }

                    await WriteQueued(buffer, header, reader, token).ConfigureAwait(false);
                }
                finally
                {
                    _writeGate.Release();
                }
            }
        }

        private async Task WriteQueued(BufferedStream buffer, byte[] header, ChannelReader<byte[]> reader, CancellationToken token)
        {
            var options = _owner._options;
            var frames = 0;
            var bytes = 0;
            while (frames < options.MaxFramesPerWrite && bytes < options.MaxBytesPerWrite &&
                   reader.TryRead(out var frame))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)frame.Length);
                await buffer.WriteAsync(header, token).ConfigureAwait(false);
                await buffer.WriteAsync(frame, token).ConfigureAwait(false);
                frames++;
                bytes += frame.Length + 4;
            }

            await buffer.FlushAsync(token).ConfigureAwait(false);
        }
    }

    private sealed class PeerRejectedException(string reason) : Exception(reason);
}
