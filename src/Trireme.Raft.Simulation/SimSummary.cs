using System.Globalization;
using System.Text;

namespace Trireme.Raft.Simulation;

/// <summary>The readable report of one run, as <c>trireme sim</c> prints it and failing tests show it.</summary>
public static class SimSummary
{
    public static string Format(SimResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = result.Options;
        var s = result.Stats;
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

        Line($"simulation: seed {o.Seed}, {o.Nodes} nodes, {N(o.Steps)} steps, {o.Clients} clients, faults: {SimOptions.FaultList(o.Faults)}"
             + (o.Broken == BrokenVariant.None ? "" : $", BROKEN: {o.Broken}"));
        Line($"elections:   {N(s.Elections)} (highest term {N((long)s.HighestTerm)}, leaders seen: {string.Join(",", s.Leaders)})");
        Line($"log:         {N((long)s.CommittedIndex)} entries committed, {N(s.EntriesApplied)} applied across nodes, "
             + $"{N(s.SnapshotsTaken)} snapshots taken, {N(s.SnapshotsInstalled)} installed from a leader");
        Line($"network:     {N(s.MessagesSent)} messages sent, {N(s.MessagesDelivered)} delivered");
        var faults = s.Faults().ToList();
        Line("faults:      " + (faults.Count == 0 ? "none" : string.Join(", ", faults.Select(f => $"{ToWords(f.Kind)} {N(f.Count)}"))));
        Line($"clients:     {N(s.ClientOperations)} operations, {N(s.ClientOperationsCompleted)} answered, "
             + $"{N(s.ClientOperationsPending)} pending (timed out), {N(s.ClientRetries)} retries");
        Line($"checkers:    election safety, log matching, leader completeness, state machine safety: "
             + (result.FailedChecker is null or Checker.Linearizability ? "ok" : "see failure"));
        Line($"             linearizability: {(result.Linearizability?.ToString() ?? "not run")} over {N(result.HistoryOperations)} operations");
        if (o.HealSteps > 0)
        {
            Line($"             liveness (leader and answers within {o.LivenessBoundTicks} ticks of healing): "
                 + (result.FailedChecker == Checker.Liveness ? "FAILED" : result.Passed ? "ok" : "not reached"));
        }

        if (result.Passed)
        {
            Line("verdict:     PASS");
        }
        else
        {
            Line($"verdict:     FAIL — {result.FailedChecker} at step {N(result.FailedAtStep)}");
            Line(result.Failure ?? "");
            Line($"replay:      {result.ReplayCommand}");
        }

        return text.ToString();
    }

    private static string ToWords(FaultKind kind)
    {
        var name = kind.ToString();
        var words = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }

            words.Append(char.ToLowerInvariant(c));
        }

        return words.ToString();
    }
}
