namespace Trireme.Linearizability;

/// <summary>
/// Wing &amp; Gong's search for a linearization, with Lowe's memoization as Porcupine uses it: walk the
/// history's call/return events in time order; at a call, try to linearize that operation now (the
/// model accepts it), remove it, and start again from the front; at a return whose operation is not
/// yet linearized, no order through this prefix exists, so undo the last choice. A (linearized set,
/// model state) pair already explored is never explored again, which makes the search polynomial for
/// the histories real systems produce.
/// Pending operations return "at infinity": they may take effect anywhere after their call or never,
/// so the search succeeds once every completed operation is linearized.
/// The search is bounded by <c>maxSteps</c> model steps per partition; past it the verdict is
/// <see cref="Verdict.Unknown"/> rather than a hang.
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>Enough for thousands of operations per key in the usual case; tests pass smaller.</summary>
    public const long DefaultMaxStepsPerPartition = 2_000_000;

    public static CheckResult Check<TState, TInput, TOutput>(
        Model<TState, TInput, TOutput> model,
        IReadOnlyList<Operation<TInput, TOutput>> history,
        long maxStepsPerPartition = DefaultMaxStepsPerPartition)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStepsPerPartition, 1);

        var partitions = 0;
        long steps = 0;
        var unknown = false;
        foreach (var partition in model.Partition(history))
        {
            partitions++;
            var search = new Search<TState, TInput, TOutput>(model, partition, maxStepsPerPartition);
            var verdict = search.Run();
            steps += search.StepsUsed;
            if (verdict == Verdict.NotLinearizable)
            {
                return new CheckResult(
                    Verdict.NotLinearizable,
                    partitions,
                    steps,
                    partition.OrderBy(op => op.CallTime).Select(model.Describe).ToList(),
                    search.LongestPrefix.Select(i => model.Describe(partition[i])).ToList());
            }

            unknown |= verdict == Verdict.Unknown;
        }

        return new CheckResult(unknown ? Verdict.Unknown : Verdict.Linearizable, partitions, steps, [], []);
    }

    /// <summary>One partition's search; a class so the linked list and cache live for one run.</summary>
    private sealed class Search<TState, TInput, TOutput>
    {
        private readonly Model<TState, TInput, TOutput> _model;
        private readonly IReadOnlyList<Operation<TInput, TOutput>> _ops;
        private readonly long _maxSteps;
        private readonly Event _head = new(-1, isCall: false);

        public Search(Model<TState, TInput, TOutput> model, IReadOnlyList<Operation<TInput, TOutput>> ops, long maxSteps)
        {
            _model = model;
            _ops = ops;
            _maxSteps = maxSteps;
            BuildEventList();
        }

        public long StepsUsed { get; private set; }

        public IReadOnlyList<int> LongestPrefix { get; private set; } = [];

        public Verdict Run()
        {
            var cache = new HashSet<CacheKey>(new CacheKeyComparer(_model.StateComparer));
            var linearized = new Bits(_ops.Count);
            var stack = new List<(Event Call, TState StateBefore)>();
            var state = _model.Init();
            var entry = _head.Next;
            while (entry is not null)
            {
                if (!entry.IsCall)
                {
                    if (_ops[entry.OpIndex].IsPending)
                    {
                        // Every completed return sorts before the first pending one, so reaching it
                        // means every completed operation is already linearized.
                        return Verdict.Linearizable;
                    }

                    if (stack.Count == 0)
                    {
                        return Verdict.NotLinearizable;
                    }

                    var (call, before) = stack[^1];
                    stack.RemoveAt(stack.Count - 1);
                    state = before;
                    linearized.Clear(call.OpIndex);
                    Unlift(call);
                    entry = call.Next;
                    continue;
                }

                if (++StepsUsed > _maxSteps)
                {
                    return Verdict.Unknown;
                }

                var op = _ops[entry.OpIndex];
                var accepted = op.IsPending
                    ? _model.StepPending(state, op.Input, out var next)
                    : _model.Step(state, op.Input, op.Output!, out next);
                if (accepted)
                {
                    linearized.Set(entry.OpIndex);
                    if (cache.Add(new CacheKey(linearized.Copy(), next)))
                    {
                        stack.Add((entry, state));
                        RecordDepth(stack);
                        state = next;
                        Lift(entry);
                        entry = _head.Next;
                        continue;
                    }

                    linearized.Clear(entry.OpIndex);
                }

                entry = entry.Next;
            }

            return Verdict.Linearizable;
        }

        private void RecordDepth(List<(Event Call, TState StateBefore)> stack)
        {
            if (stack.Count > LongestPrefix.Count)
            {
                LongestPrefix = stack.Select(s => s.Call.OpIndex).ToArray();
            }
        }

        private void BuildEventList()
        {
            var events = new List<(long Time, int Kind, Event Event)>(_ops.Count * 2);
            for (var i = 0; i < _ops.Count; i++)
            {
                var call = new Event(i, isCall: true);
                var ret = new Event(i, isCall: false);
                call.Match = ret;
                // Kind orders ties: calls (0) before returns (1), so equal times overlap; pending
                // returns go after everything at "infinity".
                events.Add((_ops[i].CallTime, 0, call));
                events.Add((_ops[i].ReturnTime ?? long.MaxValue, _ops[i].IsPending ? 2 : 1, ret));
            }

            events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Kind.CompareTo(b.Kind));
            var previous = _head;
            foreach (var (_, _, e) in events)
            {
                previous.Next = e;
                e.Prev = previous;
                previous = e;
            }
        }

        // Dancing links: a lifted pair keeps its own pointers, so undoing lifts in reverse order
        // restores the list exactly.
        private static void Lift(Event call)
        {
            Remove(call);
            Remove(call.Match!);
        }

        private static void Unlift(Event call)
        {
            Restore(call.Match!);
            Restore(call);
        }

        private static void Remove(Event e)
        {
            e.Prev!.Next = e.Next;
            if (e.Next is not null)
            {
                e.Next.Prev = e.Prev;
            }
        }

        private static void Restore(Event e)
        {
            e.Prev!.Next = e;
            if (e.Next is not null)
            {
                e.Next.Prev = e;
            }
        }

        private readonly record struct CacheKey(Bits Linearized, TState State);

        private sealed class CacheKeyComparer(IEqualityComparer<TState> states) : IEqualityComparer<CacheKey>
        {
            public bool Equals(CacheKey x, CacheKey y) =>
                x.Linearized.Equals(y.Linearized) && states.Equals(x.State, y.State);

            public int GetHashCode(CacheKey key) =>
                HashCode.Combine(key.Linearized.GetHashCode(), key.State is null ? 0 : states.GetHashCode(key.State));
        }
    }

    private sealed class Event(int opIndex, bool isCall)
    {
        public int OpIndex { get; } = opIndex;

        public bool IsCall { get; } = isCall;

        public Event? Match { get; set; }

        public Event? Prev { get; set; }

        public Event? Next { get; set; }
    }
}
