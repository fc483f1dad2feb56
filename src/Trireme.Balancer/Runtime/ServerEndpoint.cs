using System.Net;

namespace Trireme.Balancer.Runtime;

/// <summary>The host's half of a server: where it listens and the byte counters, which the forwarding
/// loops add to without taking the backend lock.</summary>
internal sealed class ServerEndpoint(IPEndPoint address)
{
    private long _bytesIn;
    private long _bytesOut;

    public IPEndPoint Address { get; } = address;

    /// <summary>The address as sockaddr bytes, for the epoll engine's raw connect.</summary>
    public byte[] SockAddr { get; } = Runtime.SockAddr.Encode(address);

    /// <summary>Bytes from clients forwarded to this server (HAProxy's "bin").</summary>
    public long BytesIn => Volatile.Read(ref _bytesIn);

    /// <summary>Bytes from this server forwarded to clients (HAProxy's "bout").</summary>
    public long BytesOut => Volatile.Read(ref _bytesOut);

    public void AddIn(int bytes) => Interlocked.Add(ref _bytesIn, bytes);

    public void AddOut(int bytes) => Interlocked.Add(ref _bytesOut, bytes);
}
