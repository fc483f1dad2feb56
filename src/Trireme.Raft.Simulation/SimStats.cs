namespace Trireme.Raft.Simulation;

public enum FaultKind : byte
{
    MessageDropped,
    MessageDuplicated,
    MessageDelayed,
    MessageLostToPartition,
    SymmetricPartition,
    AsymmetricPartition,
    Heal,
    Crash,
    Restart,
    TickSkew,
    AddLearner,
    PromoteLearner,
    RemoveNode,
    LeadershipTransfer,
    UnsyncedWritesLost,
    /// <summary>A link's queue was full (a real transport's bounded queue drops too).</summary>
    LinkQueueFull,
}

/// <summary>What a run did, for the summary <c>trireme sim</c> prints and for tests that want to know
/// a fault was really exercised.</summary>
public sealed class SimStats
{
    private readonly long[] _faults = new long[Enum.GetValues<FaultKind>().Length];

    public long MessagesSent { get; set; }

    public long MessagesDelivered { get; set; }

    /// <summary>Times a node became leader (including re-elections of the same node in a new term).</summary>
    public int Elections { get; set; }

    public ulong HighestTerm { get; set; }

    public ulong CommittedIndex { get; set; }

    public long EntriesApplied { get; set; }

    public int SnapshotsTaken { get; set; }

    public int SnapshotsInstalled { get; set; }

    public int ClientOperations { get; set; }

    public int ClientOperationsCompleted { get; set; }

    public int ClientOperationsPending { get; set; }

    public int ClientRetries { get; set; }

    public SortedSet<ulong> Leaders { get; } = [];

    public long this[FaultKind kind] => _faults[(int)kind];

    public void Count(FaultKind kind, long times = 1) => _faults[(int)kind] += times;

    public IEnumerable<(FaultKind Kind, long Count)> Faults() =>
        Enum.GetValues<FaultKind>().Where(k => _faults[(int)k] > 0).Select(k => (k, _faults[(int)k]));
}
