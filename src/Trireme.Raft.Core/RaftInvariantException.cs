namespace Trireme.Raft.Core;

/// <summary>
/// A Raft safety invariant was about to break (term or commit going backwards, a leader overwriting its
/// own log, committed entries truncated or handed to apply out of order). It is always a bug — in the
/// core or in a host that broke the Ready contract — so the core fails fast, in Release too.
/// </summary>
public sealed class RaftInvariantException : Exception
{
    public RaftInvariantException()
    {
    }

    public RaftInvariantException(string message)
        : base(message)
    {
    }

    public RaftInvariantException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
