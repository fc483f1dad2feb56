namespace Trireme.Linearizability;

/// <summary>
/// A sequential specification: what a single-copy object would answer. The checker asks whether some
/// total order of the history, consistent with real time, makes every answer one this model allows.
/// States are treated as values: the checker memoizes (linearized set, state) pairs, so
/// <see cref="StateComparer"/> must compare by value and a state must never be mutated after Step.
/// </summary>
public abstract class Model<TState, TInput, TOutput>
{
    public abstract TState Init();

    /// <summary>Whether <paramref name="input"/> may answer <paramref name="output"/> in
    /// <paramref name="state"/>, and the state after it.</summary>
    public abstract bool Step(TState state, TInput input, TOutput output, out TState next);

    /// <summary>
    /// The effect of a pending operation (its output unknown) if it took effect in
    /// <paramref name="state"/>. Returning false means it could not have taken effect here.
    /// </summary>
    public abstract bool StepPending(TState state, TInput input, out TState next);

    public virtual IEqualityComparer<TState> StateComparer => EqualityComparer<TState>.Default;

    /// <summary>
    /// Splits a history into independent sub-histories that are linearizable together exactly when each
    /// is linearizable alone (locality, Herlihy &amp; Wing §3.3): a key-value model splits by key, which
    /// turns one exponential search into many small ones. The default keeps the history whole.
    /// </summary>
    public virtual IEnumerable<IReadOnlyList<Operation<TInput, TOutput>>> Partition(
        IReadOnlyList<Operation<TInput, TOutput>> history)
    {
        yield return history;
    }

    /// <summary>How an operation reads in a failure report.</summary>
    public virtual string Describe(Operation<TInput, TOutput> operation) =>
        operation.IsPending
            ? $"client {operation.ClientId}: {operation.Input} -> (pending) @[{operation.CallTime}, ∞)"
            : $"client {operation.ClientId}: {operation.Input} -> {operation.Output} @[{operation.CallTime}, {operation.ReturnTime}]";
}
