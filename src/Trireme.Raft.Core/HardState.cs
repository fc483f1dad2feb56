namespace Trireme.Raft.Core;

/// <summary>The state a node must fsync before sending the messages of the same Ready.</summary>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit);
