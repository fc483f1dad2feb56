namespace Trireme.Raft.Core;

/// <summary>What happened to a proposal. Values frozen by a test.</summary>
public enum ProposeOutcome : byte
{
    /// <summary>Appended to the leader's log; it commits when a quorum has it.</summary>
    Accepted,
    /// <summary>Sent to the known leader in a Propose message; no acknowledgement will come from the core.</summary>
    Forwarded,
    /// <summary>This node cannot take it; LeaderHint names the leader if one is known (0 otherwise).</summary>
    NotLeader,
    /// <summary>Refused for now (leadership transfer, a conf change already pending, uncommitted budget full).</summary>
    Dropped,
    /// <summary>Larger than the uncommitted-entries budget could ever hold.</summary>
    TooLarge,
}

public readonly record struct ProposeResult(ProposeOutcome Outcome, ulong LeaderHint);
