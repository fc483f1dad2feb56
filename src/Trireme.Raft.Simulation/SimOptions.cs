using System.Globalization;

namespace Trireme.Raft.Simulation;

/// <summary>Kinds of fault the simulator injects while it runs (its "weather"). Reordering comes
/// with <see cref="Delay"/>: every message gets its own random latency.</summary>
[Flags]
public enum SimFaults
{
    None = 0,
    Drop = 1 << 0,
    Delay = 1 << 1,
    Duplicate = 1 << 2,
    Partition = 1 << 3,
    Crash = 1 << 4,
    Skew = 1 << 5,
    Membership = 1 << 6,

    /// <summary>Occasional leadership transfers requested by an "operator".</summary>
    Transfer = 1 << 7,
    All = Drop | Delay | Duplicate | Partition | Crash | Skew | Membership | Transfer,
}

/// <summary>
/// Deliberately broken variants, for proving the checkers fire. Host faults break the simulated host's
/// side of the Ready contract; core faults switch on the core's internal RaftFaults. Never used
/// outside tests and <c>trireme sim</c>.
/// </summary>
[Flags]
public enum BrokenVariant
{
    None = 0,

    /// <summary>Host sends the Ready's messages before its writes are durable; the fsync happens one
    /// step later, so a crash in between loses a vote or an acknowledged entry.</summary>
    SendBeforePersist = 1 << 0,

    /// <summary>Host applies the entries a Ready hands it to persist, before they are persisted or
    /// committed (and answers clients from them).</summary>
    ApplyBeforePersist = 1 << 1,

    /// <summary>Host restarts a node with its persisted vote cleared, so it may vote twice in a term.</summary>
    ForgetVoteOnRestart = 1 << 2,

    /// <summary>Core: a leader commits what it appends without a quorum.</summary>
    CommitWithoutMajority = 1 << 8,

    /// <summary>Core: a node grants a second vote in a term it already voted in.</summary>
    VoteTwiceInTerm = 1 << 9,

    /// <summary>Core: a follower appends without checking the previous entry's term.</summary>
    SkipLogMatchCheck = 1 << 10,
}

/// <summary>Everything that decides a run. Two runs with equal options are identical, step for step.</summary>
public sealed record SimOptions
{
    public int Seed { get; init; }

    /// <summary>When set, one line per notable event (role changes, commits, membership, faults), for
    /// reading a failing seed's story. Not part of the run's outcome: tracing changes nothing.</summary>
    public TextWriter? Trace { get; init; }

    /// <summary>Founding voters (1..7).</summary>
    public int Nodes { get; init; } = 3;

    /// <summary>Simulated steps; a step is one tick of a node with rate 1 plus a network round.</summary>
    public int Steps { get; init; } = 3000;

    public SimFaults Faults { get; init; } = SimFaults.All;

    public BrokenVariant Broken { get; init; } = BrokenVariant.None;

    public int Clients { get; init; } = 4;

    /// <summary>Few keys make clients collide, which is what exposes anomalies.</summary>
    public int Keys { get; init; } = 3;

    public int ElectionTicks { get; init; } = 10;

    /// <summary>A node compacts its log once this many entries are applied past its last snapshot, so
    /// snapshots are taken and sent to laggards routinely. 0 disables compaction.</summary>
    public int SnapshotEveryEntries { get; init; } = 64;

    /// <summary>Final steps with all faults healed, in which liveness is checked. 0 skips the liveness
    /// check (used by broken-variant hunts that only want safety).</summary>
    public int HealSteps { get; init; } = 500;

    /// <summary>Ticks after healing by which a leader must exist and every client operation issued
    /// before the heal must have an answer.</summary>
    public int LivenessBoundTicks { get; init; } = 400;

    /// <summary>Mean steps between crashes while <see cref="SimFaults.Crash"/> is on. Checker tests
    /// that hunt crash-sensitive bugs turn it up.</summary>
    public int MeanStepsBetweenCrashes { get; init; } = 250;

    /// <summary>Check the client history for linearizability at the end.</summary>
    public bool CheckLinearizability { get; init; } = true;

    /// <summary>Search budget per key for the linearizability check; past it the verdict is Unknown.
    /// Proving a broken history non-linearizable means exhausting the search, so bug hunts that only need
    /// the step checkers keep it small.</summary>
    public long LinearizabilityMaxSteps { get; init; } = 2_000_000;

    public void Validate()
    {
        Require(Nodes is >= 1 and <= 7, "Nodes must be 1..7");
        Require(Steps > 0, "Steps must be positive");
        Require(Clients is >= 0 and <= 64, "Clients must be 0..64");
        Require(Keys is >= 1 and <= 64, "Keys must be 1..64");
        Require(ElectionTicks >= 3, "ElectionTicks must be at least 3");
        Require(HealSteps >= 0 && HealSteps <= Steps, "HealSteps must be within Steps");
        Require(HealSteps == 0 || LivenessBoundTicks < HealSteps, "LivenessBoundTicks must fit inside HealSteps");
        Require(MeanStepsBetweenCrashes >= 1, "MeanStepsBetweenCrashes must be positive");
        Require(SnapshotEveryEntries >= 0, "SnapshotEveryEntries must not be negative");
    }

    /// <summary>The exact command that replays this run from the command line.</summary>
    public string ToCommandLine()
    {
        var parts = new List<string>
        {
            "trireme sim",
            $"--seed {Seed.ToString(CultureInfo.InvariantCulture)}",
            $"--nodes {Nodes.ToString(CultureInfo.InvariantCulture)}",
            $"--steps {Steps.ToString(CultureInfo.InvariantCulture)}",
            $"--faults {FaultList(Faults)}",
        };
        if (MeanStepsBetweenCrashes != 250)
        {
            parts.Add($"--crash-every {MeanStepsBetweenCrashes.ToString(CultureInfo.InvariantCulture)}");
        }

        if (Clients != 4)
        {
            parts.Add($"--clients {Clients.ToString(CultureInfo.InvariantCulture)}");
        }

        if (Broken != BrokenVariant.None)
        {
            parts.Add($"--broken {Broken.ToString().Replace(" ", "", StringComparison.Ordinal)}");
        }

        return string.Join(' ', parts);
    }

    public static string FaultList(SimFaults faults) =>
        faults == SimFaults.None
            ? "none"
            : string.Join(',', Enum.GetValues<SimFaults>()
                .Where(f => f is not SimFaults.None and not SimFaults.All && faults.HasFlag(f))
                .Select(f => f.ToString().ToLowerInvariant()));

    public static SimFaults ParseFaults(string text)
    {
        var faults = SimFaults.None;
        foreach (var word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (word.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!Enum.TryParse<SimFaults>(word, ignoreCase: true, out var fault))
            {
                throw new ArgumentException($"unknown fault '{word}' (known: {FaultList(SimFaults.All)}, all, none)");
            }

            faults |= fault;
        }

        return faults;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
