namespace Trireme.Raft.Simulation;

/// <summary>Which property a failed run broke. Values appear in reports and test names.</summary>
public enum Checker : byte
{
    /// <summary>At most one leader per term (Raft §5.2, Election Safety).</summary>
    ElectionSafety,

    /// <summary>Two durable logs with an entry of equal index and term agree on every entry up to it
    /// (§5.3, Log Matching).</summary>
    LogMatching,

    /// <summary>An entry committed in a term is in the log of every leader of a later term (§5.4,
    /// Leader Completeness); also: a committed entry never changes.</summary>
    LeaderCompleteness,

    /// <summary>No two nodes apply different commands at one index, nor reach different states (§5.4.3,
    /// State Machine Safety).</summary>
    StateMachineSafety,

    /// <summary>The clients' history has no linearization against the key-value model.</summary>
    Linearizability,

    /// <summary>After the faults healed, no leader emerged or client operations did not complete in the
    /// bound.</summary>
    Liveness,

    /// <summary>The core threw, or broke the Ready contract in a way no other checker models.</summary>
    CoreInvariant,
}

/// <summary>A checker fired: the run stops here and reports it.</summary>
public sealed class SafetyViolationException : Exception
{
    public SafetyViolationException(Checker checker, string message)
        : base($"{checker}: {message}") => Checker = checker;

    public SafetyViolationException()
    {
    }

    public SafetyViolationException(string message)
        : base(message)
    {
    }

    public SafetyViolationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public Checker Checker { get; }
}
