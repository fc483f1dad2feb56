namespace Trireme.Linearizability;

/// <summary>
/// One client operation as a client saw it: invoked at <see cref="CallTime"/>, answered at
/// <see cref="ReturnTime"/> with <see cref="Output"/>. An operation that never returned (the client
/// timed out or crashed) is <em>pending</em>: <see cref="ReturnTime"/> is null, its output is unknown,
/// and it may or may not have taken effect at any moment after its call.
/// Times are any monotonic counter the recorder shares across clients (the simulator uses its event
/// sequence number); only their order matters. A call time equal to another operation's return time
/// counts as overlapping, which can only hide a violation, never invent one.
/// </summary>
public sealed record Operation<TInput, TOutput>(
    int ClientId, TInput Input, TOutput? Output, long CallTime, long? ReturnTime)
{
    public bool IsPending => ReturnTime is null;

    public static Operation<TInput, TOutput> Completed(
        int clientId, TInput input, TOutput output, long callTime, long returnTime)
    {
        if (returnTime < callTime)
        {
            throw new ArgumentOutOfRangeException(nameof(returnTime), returnTime, "an operation cannot return before its call");
        }

        return new(clientId, input, output, callTime, returnTime);
    }

    public static Operation<TInput, TOutput> Pending(int clientId, TInput input, long callTime) =>
        new(clientId, input, default, callTime, null);
}
