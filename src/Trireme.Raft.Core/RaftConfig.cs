namespace Trireme.Raft.Core;

/// <summary>
/// Tuning of one Raft node. Every limit is a bound with its reason; <see cref="Validate"/> rejects
/// nonsense with <see cref="ArgumentException"/> when a node is created.
/// </summary>
public sealed record RaftConfig
{
    public const long MiB = 1024 * 1024;

    /// <summary>This node's id; never 0 (0 means "none" everywhere).</summary>
    public ulong Id { get; init; }

    /// <summary>Ticks without hearing from a leader before a follower campaigns; the actual timeout is
    /// randomized in [ElectionTicks, 2*ElectionTicks) so that candidates rarely collide.</summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>Ticks between a leader's heartbeats; must be well below ElectionTicks.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>Ask for votes without raising the term first, so a rejoining partitioned node cannot
    /// disrupt a healthy leader (Raft thesis §9.6).</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>A leader that has not heard from a quorum within an election timeout steps down, and
    /// followers ignore vote requests while they believe in a live leader (thesis §6.2 leases).</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>Append messages in flight to one follower in the replicate state (pipelining window).</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>Entry bytes in flight to one follower; bounds the memory a slow follower can pin.</summary>
    public long MaxInflightBytes { get; init; } = 8 * MiB;

    /// <summary>Entry bytes per Append message (at least one entry is always sent, however large).</summary>
    public long MaxSizePerMessageBytes { get; init; } = 1 * MiB;

    /// <summary>Bytes of proposed but uncommitted entries a leader accepts before dropping proposals, so a
    /// leader that lost its followers does not grow its log without bound.</summary>
    public long MaxUncommittedEntriesBytes { get; init; } = 64 * MiB;

    /// <summary>Committed entry bytes handed to the application in one Ready (at least one entry).</summary>
    public long MaxCommittedBytesPerReady { get; init; } = 8 * MiB;

    /// <summary>ReadIndex requests a leader keeps waiting for quorum confirmation; more are dropped and the
    /// client retries.</summary>
    public int MaxPendingReadIndexRequests { get; init; } = 4096;

    /// <summary>Whether a follower forwards proposals to the leader (else it answers NotLeader).</summary>
    public bool ForwardProposals { get; init; } = true;

    /// <summary>Deliberate bugs for checker tests; all off unless a test switches them on.</summary>
    internal RaftFaults Faults { get; init; } = new();

    public void Validate()
    {
        Require(Id != 0, "Id must not be 0 (0 means no node)");
        Require(ElectionTicks > 0 && ElectionTicks <= int.MaxValue / 2, "ElectionTicks must be positive");
        Require(HeartbeatTicks > 0, "HeartbeatTicks must be positive");
        Require(HeartbeatTicks < ElectionTicks, "HeartbeatTicks must be below ElectionTicks");
        Require(MaxInflightMessages > 0, "MaxInflightMessages must be positive");
        Require(MaxInflightBytes > 0, "MaxInflightBytes must be positive");
        Require(MaxSizePerMessageBytes > 0, "MaxSizePerMessageBytes must be positive");
        Require(MaxUncommittedEntriesBytes > 0, "MaxUncommittedEntriesBytes must be positive");
        Require(MaxCommittedBytesPerReady > 0, "MaxCommittedBytesPerReady must be positive");
        Require(MaxPendingReadIndexRequests > 0, "MaxPendingReadIndexRequests must be positive");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
