namespace Trireme.Raft.Core;

/// <summary>Always-on assertions (Release too): a broken Raft invariant is a bug and must stop the node.</summary>
internal static class Invariants
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new RaftInvariantException(what);
        }
    }

    /// <summary>For checks whose message needs formatting: build it only when the check fails.</summary>
    public static RaftInvariantException Violation(string what) => new(what);
}
