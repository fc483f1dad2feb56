// Proves each safety checker fires on a hand-built bad state and stays quiet on the matching good one,
// independent of any Raft core: two leaders in a term, two durable logs disagreeing before an entry of
// equal index and term, a committed entry changing, a leader missing an entry committed in an earlier
// term, and two nodes applying different commands or reaching different states at one index.
using Trireme.Raft.Simulation;

namespace Trireme.Simulation.Tests;

public sealed class CheckerTests
{
    [Fact]
    public void ElectionSafety_fires_on_two_leaders_in_one_term()
    {
        var checker = new SafetyChecker();
        checker.ObserveLeader(1, 5);
        checker.ObserveLeader(1, 5);
        checker.ObserveLeader(2, 6);

        var violation = Assert.Throws<SafetyViolationException>(() => checker.ObserveLeader(3, 5));
        Assert.Equal(Checker.ElectionSafety, violation.Checker);
    }

    [Fact]
    public void LogMatching_fires_when_equal_index_and_term_follow_different_prefixes()
    {
        var checker = new SafetyChecker();
        checker.ObserveDurableEntry(1, index: 4, term: 2, prefixHash: 0xAAAA);
        checker.ObserveDurableEntry(2, index: 4, term: 2, prefixHash: 0xAAAA);
        checker.ObserveDurableEntry(3, index: 4, term: 3, prefixHash: 0xBBBB); // another term: fine

        var violation = Assert.Throws<SafetyViolationException>(() => checker.ObserveDurableEntry(3, 4, 2, 0xCCCC));
        Assert.Equal(Checker.LogMatching, violation.Checker);
    }

    [Fact]
    public void Committed_entry_that_changes_is_caught()
    {
        var checker = new SafetyChecker();
        var logA = new Dictionary<ulong, ulong> { [1] = 11, [2] = 12, [3] = 13 };
        var logB = new Dictionary<ulong, ulong> { [1] = 11, [2] = 99 };
        checker.ObserveCommit(1, term: 2, commit: 3, i => logA.TryGetValue(i, out var h) ? h : null);

        var violation = Assert.Throws<SafetyViolationException>(
            () => checker.ObserveCommit(2, term: 3, commit: 2, i => logB.TryGetValue(i, out var h) ? h : null));
        Assert.Equal(Checker.LeaderCompleteness, violation.Checker);
    }

    [Fact]
    public void LeaderCompleteness_fires_when_a_later_leader_lacks_an_earlier_commit()
    {
        var checker = new SafetyChecker();
        var committed = new Dictionary<ulong, ulong> { [1] = 11, [2] = 12, [3] = 13 };
        checker.ObserveCommit(1, term: 2, commit: 3, i => committed.TryGetValue(i, out var h) ? h : null);

        // A leader of the same term may still be catching up; a leader of term 2 has it by definition.
        checker.CheckLeaderCompleteness(1, term: 2, snapshotIndex: 0, i => committed.TryGetValue(i, out var h) ? h : null);
        // A later leader holding it passes.
        checker.CheckLeaderCompleteness(2, term: 3, snapshotIndex: 0, i => committed.TryGetValue(i, out var h) ? h : null);

        var shortLog = new Dictionary<ulong, ulong> { [1] = 11, [2] = 12 };
        var violation = Assert.Throws<SafetyViolationException>(
            () => checker.CheckLeaderCompleteness(3, term: 4, snapshotIndex: 0, i => shortLog.TryGetValue(i, out var h) ? h : null));
        Assert.Equal(Checker.LeaderCompleteness, violation.Checker);
    }

    [Fact]
    public void LeaderCompleteness_ignores_commits_made_in_the_leaders_own_or_later_terms()
    {
        var checker = new SafetyChecker();
        var log = new Dictionary<ulong, ulong> { [1] = 11, [2] = 12, [3] = 13 };
        checker.ObserveCommit(1, term: 5, commit: 3, i => log.TryGetValue(i, out var h) ? h : null);

        // A stale leader of term 4 need not hold what term 5 committed.
        checker.CheckLeaderCompleteness(2, term: 4, snapshotIndex: 0, _ => null);
    }

    [Fact]
    public void StateMachineSafety_fires_on_different_commands_at_one_index()
    {
        var checker = new SafetyChecker();
        checker.ObserveApply(1, index: 1, entryHash: 5, stateHash: 50);
        checker.ObserveApply(2, index: 1, entryHash: 5, stateHash: 50);

        var violation = Assert.Throws<SafetyViolationException>(() => checker.ObserveApply(3, index: 1, entryHash: 6, stateHash: 50));
        Assert.Equal(Checker.StateMachineSafety, violation.Checker);
    }

    [Fact]
    public void StateMachineSafety_fires_on_a_snapshot_with_a_different_state()
    {
        var checker = new SafetyChecker();
        checker.ObserveApply(1, index: 7, entryHash: 5, stateHash: 50);
        checker.ObserveSnapshotState(2, index: 7, stateHash: 50);

        var violation = Assert.Throws<SafetyViolationException>(() => checker.ObserveSnapshotState(3, index: 7, stateHash: 51));
        Assert.Equal(Checker.StateMachineSafety, violation.Checker);
    }
}
