namespace Trireme.Balancer.Runtime;

/// <summary>
/// One client connection in the epoll engine: two raw descriptors and the two directions between them.
/// It is touched only on the engine's loop thread, so it has no lock, and it is a plain object with
/// fields (no Socket, no Task, no async state machine) because an idle connection's memory is this
/// object and the backend core's entry, nothing else.
/// </summary>
internal sealed class EpollSession(long id, FrontendRuntime frontend, BackendRuntime backend, int clientFd, uint clientTag)
{
    /// <summary>Not registered with epoll.</summary>
    public const int NotRegistered = -1;

    public readonly long Id = id;
    public readonly FrontendRuntime Frontend = frontend;
    public readonly BackendRuntime Backend = backend;
    public readonly int ClientFd = clientFd;

    /// <summary>Tags tell a stale epoll event (for a descriptor since closed and reused in the same batch)
    /// from a live one: each registration gets a fresh tag, carried in the event's data.</summary>
    public readonly uint ClientTag = clientTag;

    public ServerEndpoint? Endpoint;
    public int UpstreamFd = -1;
    public uint UpstreamTag;
    public int ClientInterest = NotRegistered;
    public int UpstreamInterest = NotRegistered;
    public EpollSessionState State;

    /// <summary>The upstream connect is known to have completed (EPOLLOUT, or a send or a read on it
    /// succeeded). Until then a FIN from the client is held back: shutdown on a connecting socket would
    /// abort the connect.</summary>
    public bool UpstreamConnected;
    public long ConnectDeadlineMs;
    public long LastActivityMs;

    /// <summary>One side has sent its FIN: the idle limit becomes the shorter client/server timeout.</summary>
    public bool HalfClosed;

    /// <summary>In the engine's list of sessions to settle after the current batch of events.</summary>
    public bool Dirty;
    public Flow ToServer;
    public Flow ToClient;

    /// <summary>Bytes moving one way. A buffer is held only while a read's bytes wait to be sent.</summary>
    public struct Flow
    {
        public byte[]? Buffer;
        public int Offset;
        public int Pending;

        /// <summary>The source sent its FIN.</summary>
        public bool Eof;

        /// <summary>That FIN was passed on (shutdown of the destination's sending side, or the close).</summary>
        public bool ShutSent;

        public readonly bool Done => Eof && Pending == 0;
    }
}

internal enum EpollSessionState : byte
{
    /// <summary>Waiting for the backend's decision (maybe in its maxconn queue).</summary>
    Assigning,
    Connecting,
    Established,
    Closed,
}
