namespace Trireme.Raft.Core;

/// <summary>The role a node plays in its current term. Values frozen by a test.</summary>
public enum RaftRole : byte
{
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// <summary>Volatile state that need not be persisted: who leads and what this node is.</summary>
public readonly record struct SoftState(ulong Leader, RaftRole Role);
