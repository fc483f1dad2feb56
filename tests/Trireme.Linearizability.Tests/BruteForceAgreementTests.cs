// Proves the fast search (Wing–Gong with memoization, split by key) decides exactly what the
// definition of linearizability decides: on thousands of small random key-value histories, with
// overlapping and pending operations, its verdict equals a brute force that tries every order of
// every subset of operations containing all completed ones, checks real-time order pair by pair, and
// replays the whole multi-key map (no partitioning). The histories come from a real sequential run
// with outputs sometimes corrupted, so both verdicts occur often.
namespace Trireme.Linearizability.Tests;

public sealed class BruteForceAgreementTests
{
    private static readonly string[] Keys = ["x", "y"];
    private static readonly string[] Values = ["1", "2", "3"];

    [Fact]
    public void Fast_search_agrees_with_brute_force_on_small_random_histories()
    {
        var random = new Random(20261122);
        int linearizable = 0, violations = 0;
        for (var round = 0; round < 3000; round++)
        {
            var history = RandomHistory(random, operations: random.Next(1, 8));
            var expected = BruteForce(history);
            var actual = LinearizabilityChecker.Check(KvModel.Instance, history).Verdict;
            Assert.True(
                (expected ? Verdict.Linearizable : Verdict.NotLinearizable) == actual,
                $"round {round}: brute force says {(expected ? "linearizable" : "not")}, search says {actual}:\n"
                + string.Join("\n", history.Select(KvModel.Instance.Describe)));
            if (expected)
            {
                linearizable++;
            }
            else
            {
                violations++;
            }
        }

        // The generator must exercise both answers, or agreement proves little.
        Assert.True(linearizable > 500, $"only {linearizable} linearizable histories");
        Assert.True(violations > 500, $"only {violations} violating histories");
    }

    private static List<Operation<KvInput, KvOutput>> RandomHistory(Random random, int operations)
    {
        // Each operation takes effect at a distinct instant inside its interval, in instant order, so
        // the uncorrupted history is linearizable by construction.
        var state = new Dictionary<string, string?>(StringComparer.Ordinal);
        var history = new List<Operation<KvInput, KvOutput>>();
        var instants = Enumerable.Range(0, operations).Select(i => (i * 4) + 2).ToArray();
        for (var i = 0; i < operations; i++)
        {
            var key = Keys[random.Next(Keys.Length)];
            state.TryGetValue(key, out var current);
            var input = random.Next(4) switch
            {
                0 => KvInput.Get(key),
                1 => KvInput.Put(key, Values[random.Next(Values.Length)]),
                2 => KvInput.Delete(key),
                _ => KvInput.Cas(key, random.Next(3) == 0 ? null : Values[random.Next(Values.Length)], Values[random.Next(Values.Length)]),
            };
            var output = Apply(state, input);
            if (random.Next(4) == 0)
            {
                output = Corrupt(random, input, output);
            }

            var call = instants[i] - random.Next(0, 9);
            var ret = instants[i] + random.Next(0, 9);
            history.Add(random.Next(6) == 0
                ? Operation<KvInput, KvOutput>.Pending(i % 3, input, call)
                : Operation<KvInput, KvOutput>.Completed(i % 3, input, output, call, ret));
        }

        return history;
    }

    private static KvOutput Apply(Dictionary<string, string?> state, KvInput input)
    {
        state.TryGetValue(input.Key, out var current);
        switch (input.Kind)
        {
            case KvOpKind.Get:
                return KvOutput.Read(current);
            case KvOpKind.Put:
                state[input.Key] = input.Value;
                return KvOutput.Done;
            case KvOpKind.Delete:
                state[input.Key] = null;
                return KvOutput.Done;
            default:
                var swapped = current == input.Expected;
                if (swapped)
                {
                    state[input.Key] = input.Value;
                }

                return KvOutput.Swapped(swapped);
        }
    }

    private static KvOutput Corrupt(Random random, KvInput input, KvOutput output) => input.Kind switch
    {
        KvOpKind.Get => KvOutput.Read(random.Next(4) == 0 ? null : Values[random.Next(Values.Length)]),
        KvOpKind.CompareAndSwap => KvOutput.Swapped(!output.Succeeded),
        _ => output,
    };

    /// <summary>The definition, literally: some order of all completed operations plus any subset of
    /// pending ones, respecting real time, that the sequential map explains.</summary>
    private static bool BruteForce(List<Operation<KvInput, KvOutput>> history)
    {
        var pending = Enumerable.Range(0, history.Count).Where(i => history[i].IsPending).ToArray();
        var completed = Enumerable.Range(0, history.Count).Where(i => !history[i].IsPending).ToArray();
        for (var mask = 0; mask < 1 << pending.Length; mask++)
        {
            var chosen = completed.Concat(pending.Where((_, bit) => (mask & (1 << bit)) != 0)).ToArray();
            if (Permutations(chosen).Any(order => RespectsRealTime(history, order) && Explains(history, order)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool RespectsRealTime(List<Operation<KvInput, KvOutput>> history, int[] order)
    {
        for (var i = 0; i < order.Length; i++)
        {
            for (var j = i + 1; j < order.Length; j++)
            {
                // order[j] placed after order[i]: wrong if order[j] had returned before order[i] was called.
                var later = history[order[j]];
                if (later.ReturnTime is { } ret && ret < history[order[i]].CallTime)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool Explains(List<Operation<KvInput, KvOutput>> history, int[] order)
    {
        var state = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var index in order)
        {
            var op = history[index];
            var actual = Apply(state, op.Input);
            if (op.IsPending || op.Input.Kind is KvOpKind.Put or KvOpKind.Delete)
            {
                continue;
            }

            if (actual != op.Output)
            {
                return false;
            }
        }

        return true;
    }

    private static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Length; i++)
        {
            var rest = items.Where((_, j) => j != i).ToArray();
            foreach (var tail in Permutations(rest))
            {
                yield return [items[i], .. tail];
            }
        }
    }
}
