namespace Trireme.Linearizability;

public enum Verdict : byte
{
    Linearizable,
    NotLinearizable,

    /// <summary>The search ran out of its step budget before deciding; nothing is claimed.</summary>
    Unknown,
}

/// <summary>
/// The checker's answer. For a violation it names the smallest independent partition that has none
/// (e.g. one key) and the longest prefix the search could linearize, which is where a reader starts.
/// </summary>
public sealed record CheckResult(
    Verdict Verdict,
    int Partitions,
    long StepsUsed,
    IReadOnlyList<string> FailingPartition,
    IReadOnlyList<string> LongestLinearizedPrefix)
{
    public bool IsLinearizable => Verdict == Verdict.Linearizable;

    public string Explain()
    {
        if (Verdict != Verdict.NotLinearizable)
        {
            return $"{Verdict} ({Partitions} partitions, {StepsUsed} search steps)";
        }

        var lines = new List<string> { $"NotLinearizable: no real-time-consistent order explains this partition:" };
        lines.AddRange(FailingPartition.Select(op => "  " + op));
        lines.Add("longest order the search could linearize:");
        lines.AddRange(LongestLinearizedPrefix.Select(op => "  " + op));
        return string.Join(Environment.NewLine, lines);
    }
}
