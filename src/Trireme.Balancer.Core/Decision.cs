namespace Trireme.Balancer.Core;

public enum DecisionKind
{
    /// <summary>Connect to <see cref="Decision.Server"/> now; its slot is already counted.</summary>
    Connect,

    /// <summary>Wait: a slot will be granted through <see cref="BackendReady.Dequeued"/> or the wait
    /// ends in <see cref="BackendReady.QueueTimedOut"/>.</summary>
    Queued,

    /// <summary>Close the client connection; <see cref="Decision.Reason"/> says why.</summary>
    Rejected,
}

public enum RejectReason
{
    None,

    /// <summary>No server is UP and ready (HAProxy's "no server available").</summary>
    NoServer,

    /// <summary>Every usable server is at maxconn and the backend queue is at its bound.</summary>
    QueueFull,

    /// <summary>Connect attempts failed <c>retries + 1</c> times.</summary>
    RetriesExhausted,
}

public readonly record struct Decision(DecisionKind Kind, Server? Server, RejectReason Reason)
{
    public static Decision Connect(Server server) => new(DecisionKind.Connect, server, RejectReason.None);

    public static Decision Queued() => new(DecisionKind.Queued, null, RejectReason.None);

    public static Decision Reject(RejectReason reason) => new(DecisionKind.Rejected, null, reason);
}

/// <summary>
/// What the host must do after <see cref="BackendCore.Tick"/> and the other steps: start the probes that
/// are due, connect the sessions that left the queue, close the sessions whose queue wait expired, and
/// log health transitions. Taken with <see cref="BackendCore.TakeReady"/>; the host owns it after that.
/// </summary>
public sealed class BackendReady
{
    public List<Server> ChecksDue { get; } = [];

    public List<(long SessionId, Server Server)> Dequeued { get; } = [];

    public List<long> QueueTimedOut { get; } = [];

    public List<(Server Server, HealthTransition Transition)> Transitions { get; } = [];

    public bool IsEmpty => ChecksDue.Count == 0 && Dequeued.Count == 0 && QueueTimedOut.Count == 0
        && Transitions.Count == 0;
}
