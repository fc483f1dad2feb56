namespace Trireme.Raft.Core;

/// <summary>How a leader is replicating to one follower (etcd-io/raft's tracker.StateType). Values frozen by a test.</summary>
public enum ProgressState : byte
{
    /// <summary>Match unknown: one Append at a time until the follower accepts one.</summary>
    Probe,
    /// <summary>Follower in sync: Appends are pipelined up to the in-flight bounds.</summary>
    Replicate,
    /// <summary>Follower is behind the compacted log: a snapshot is on its way, nothing else is sent.</summary>
    Snapshot,
}

/// <summary>A leader's view of one peer.</summary>
public readonly record struct PeerProgress(
    ulong Match, ulong Next, ProgressState State, bool IsLearner, bool RecentActive, int InflightMessages, long InflightBytes);

/// <summary>A point-in-time copy of a node's state for hosts, tests and operators.</summary>
public sealed record RaftStatus(
    ulong Id,
    ulong Term,
    ulong Vote,
    RaftRole Role,
    ulong Leader,
    ulong Commit,
    ulong Applied,
    ulong FirstIndex,
    ulong LastIndex,
    ConfState ConfState,
    ulong LeadTransferee,
    IReadOnlyDictionary<ulong, PeerProgress> Progress);
