namespace Trireme.Store.Transport;

public sealed record PeerTransportOptions
{
    /// <summary>Frames queued per peer; beyond this new frames are dropped and Raft is told the peer is
    /// unreachable (it retransmits from its own log, so a drop costs latency, never safety).</summary>
    public int MaxQueuedFramesPerPeer { get; init; } = 4096;

    /// <summary>Frames coalesced into one socket write.</summary>
    public int MaxFramesPerWrite { get; init; } = 256;

    /// <summary>Bytes coalesced into one socket write (a frame larger than this is written alone).</summary>
    public int MaxBytesPerWrite { get; init; } = 1024 * 1024;

    /// <summary>Largest inbound frame: snapshots travel as one frame, so this bounds snapshot size too.</summary>
    public int MaxFrameBytes { get; init; } = 512 * 1024 * 1024;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public PeerTlsOptions? Tls { get; init; }
}
