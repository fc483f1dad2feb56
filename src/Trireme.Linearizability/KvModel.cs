namespace Trireme.Linearizability;

public enum KvOpKind : byte
{
    Get,
    Put,
    Delete,

    /// <summary>Set <see cref="KvInput.Value"/> only if the key currently holds
    /// <see cref="KvInput.Expected"/> (null expects the key absent).</summary>
    CompareAndSwap,
}

public readonly record struct KvInput(KvOpKind Kind, string Key, string? Value = null, string? Expected = null)
{
    public static KvInput Get(string key) => new(KvOpKind.Get, key);

    public static KvInput Put(string key, string value) => new(KvOpKind.Put, key, value);

    public static KvInput Delete(string key) => new(KvOpKind.Delete, key);

    public static KvInput Cas(string key, string? expected, string value) => new(KvOpKind.CompareAndSwap, key, value, expected);

    public override string ToString() => Kind switch
    {
        KvOpKind.Get => $"get({Key})",
        KvOpKind.Put => $"put({Key}, {Value})",
        KvOpKind.Delete => $"delete({Key})",
        _ => $"cas({Key}, {Expected ?? "<absent>"} -> {Value})",
    };
}

/// <summary>What a client saw: for a get the value read (null = absent); for a compare-and-swap
/// whether it swapped. Put and delete answer only "done".</summary>
public readonly record struct KvOutput(bool Succeeded, string? Value)
{
    public static KvOutput Done => new(true, null);

    public static KvOutput Read(string? value) => new(true, value);

    public static KvOutput Swapped(bool swapped) => new(swapped, null);

    public override string ToString() => Value is not null ? $"'{Value}'" : Succeeded ? "ok" : "failed";
}

/// <summary>
/// A register per key, checked one key at a time: the state is the value of the partition's one key
/// (null = absent). Keys are independent objects, so by locality the whole map is linearizable
/// exactly when every key is.
/// </summary>
public sealed class KvModel : Model<string?, KvInput, KvOutput>
{
    public static KvModel Instance { get; } = new();

    public override string? Init() => null;

    public override bool Step(string? state, KvInput input, KvOutput output, out string? next)
    {
        switch (input.Kind)
        {
            case KvOpKind.Get:
                next = state;
                return string.Equals(state, output.Value, StringComparison.Ordinal);
            case KvOpKind.Put:
                next = input.Value;
                return true;
            case KvOpKind.Delete:
                next = null;
                return true;
            default:
                var matches = string.Equals(state, input.Expected, StringComparison.Ordinal);
                next = matches ? input.Value : state;
                return matches == output.Succeeded;
        }
    }

    public override bool StepPending(string? state, KvInput input, out string? next)
    {
        next = input.Kind switch
        {
            KvOpKind.Get => state,
            KvOpKind.Put => input.Value,
            KvOpKind.Delete => null,
            _ => string.Equals(state, input.Expected, StringComparison.Ordinal) ? input.Value : state,
        };
        return true;
    }

    public override IEqualityComparer<string?> StateComparer => StringComparer.Ordinal;

    public override IEnumerable<IReadOnlyList<Operation<KvInput, KvOutput>>> Partition(
        IReadOnlyList<Operation<KvInput, KvOutput>> history) =>
        history.GroupBy(op => op.Input.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (IReadOnlyList<Operation<KvInput, KvOutput>>)g.ToList());
}
