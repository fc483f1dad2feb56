using Trireme.Linearizability;

namespace Trireme.Raft.Simulation;

/// <summary>How a run ended. <see cref="Failure"/> is null when every checker passed.</summary>
public sealed record SimResult(
    SimOptions Options,
    SimStats Stats,
    Checker? FailedChecker,
    string? Failure,
    long FailedAtStep,
    Verdict? Linearizability,
    int HistoryOperations)
{
    /// <summary>The clients' history as recorded (call/return in event order; pending ops without a
    /// return), for re-checking or printing.</summary>
    public IReadOnlyList<Operation<KvInput, KvOutput>> History { get; init; } = [];

    public bool Passed => FailedChecker is null;

    /// <summary>The one line a developer pastes to replay this run.</summary>
    public string ReplayCommand => Options.ToCommandLine();
}
