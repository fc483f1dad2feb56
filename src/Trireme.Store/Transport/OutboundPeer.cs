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
                    await Pump(stream, token).ConfigureAwait(false);
                    return; // queue completed: the peer was removed or the transport stopped
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException
                    or System.Security.Authentication.AuthenticationException or PeerRejectedException)
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
    }

    private sealed class PeerRejectedException(string reason) : Exception(reason);
}
