namespace Trireme.Raft.Simulation;

/// <summary>The simulated host found the core breaking the Ready contract in a way no checker models
/// (e.g. a gap in the entries to persist). Reported as a failure of its own kind.</summary>
public sealed class SimulationInvariantException : Exception
{
    public SimulationInvariantException(string message)
        : base(message)
    {
    }

    public SimulationInvariantException()
    {
    }

    public SimulationInvariantException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
