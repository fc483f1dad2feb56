namespace Trireme.Raft.Core;

/// <summary>
/// Deliberate bugs, off by default, that tests and the simulator switch on to prove their checkers
/// catch real safety violations. Never set in production: only InternalsVisibleTo assemblies reach it.
/// </summary>
internal sealed class RaftFaults
{
    /// <summary>The leader commits every entry it appends at once, without waiting for a quorum.</summary>
    public bool CommitWithoutMajority { get; set; }

    /// <summary>A node grants its vote to any up-to-date candidate, even after voting for another in the same term.</summary>
    public bool VoteTwiceInTerm { get; set; }

    /// <summary>A follower accepts an Append whose previous entry exists with a different term.</summary>
    public bool SkipLogMatchCheck { get; set; }

    public bool Any => CommitWithoutMajority || VoteTwiceInTerm || SkipLogMatchCheck;
}
