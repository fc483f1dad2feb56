namespace Trireme.Raft.Simulation;

/// <summary>
/// Raft's safety properties (Figure 3 of the paper), checked from what the simulated hosts observe:
/// leaders seen per term, entries as they become durable, commit indexes as hosts persist them, and
/// commands as hosts apply them. Each check is O(1) or O(terms) per observation, so they run after
/// every step without dominating a seed's cost. Fed by hand in tests to prove each one fires.
/// </summary>
public sealed class SafetyChecker
{
    private readonly Dictionary<ulong, ulong> _leaderByTerm = [];
    private readonly Dictionary<(ulong Index, ulong Term), ulong> _prefixByIndexTerm = [];

    // Index i's committed prefix hash lives at [i]; [0] is the empty log.
    private readonly List<ulong> _committedPrefix = [0];

    // Highest index seen committed by a node whose term was t: committed in a term <= t.
    private readonly SortedDictionary<ulong, ulong> _maxCommitSeenAtTerm = [];
    private readonly List<ulong> _appliedEntry = [0];
    private readonly List<ulong> _stateAfter = [0];

    public int LeadersObserved => _leaderByTerm.Count;

    public ulong HighestTerm { get; private set; }

    public ulong CommittedIndex => (ulong)(_committedPrefix.Count - 1);

    /// <summary>Election Safety: <paramref name="node"/> is leader of <paramref name="term"/>.</summary>
    public void ObserveLeader(ulong node, ulong term)
    {
        if (_leaderByTerm.TryGetValue(term, out var existing))
        {
            if (existing != node)
            {
                throw new SafetyViolationException(Checker.ElectionSafety, $"term {term} has two leaders: {existing} and {node}");
            }

            return;
        }

        _leaderByTerm[term] = node;
        HighestTerm = Math.Max(HighestTerm, term);
    }

    /// <summary>Log Matching: an entry (index, term) became durable on <paramref name="node"/> with
    /// this prefix hash. Every durable copy of (index, term) anywhere must have the same prefix.</summary>
    public void ObserveDurableEntry(ulong node, ulong index, ulong term, ulong prefixHash)
    {
        if (_prefixByIndexTerm.TryGetValue((index, term), out var known))
        {
            if (known != prefixHash)
            {
                throw new SafetyViolationException(
                    Checker.LogMatching,
                    $"node {node} holds entry (index {index}, term {term}) after a log prefix that differs from another node's copy of it");
            }

            return;
        }

        _prefixByIndexTerm[(index, term)] = prefixHash;
    }

    /// <summary>The prefix hash some durable log had at (index, term), if any: anchors a snapshot.</summary>
    public ulong? KnownPrefix(ulong index, ulong term) =>
        _prefixByIndexTerm.TryGetValue((index, term), out var prefix) ? prefix : null;

    /// <summary>
    /// <paramref name="node"/>, at <paramref name="term"/>, persisted commit index
    /// <paramref name="commit"/>; <paramref name="prefixAt"/> reads that node's log. A committed
    /// index never changes content afterwards.
    /// </summary>
    public void ObserveCommit(ulong node, ulong term, ulong commit, Func<ulong, ulong?> prefixAt)
    {
        var known = CommittedIndex;
        var checkFrom = Math.Min(commit, known);
        if (checkFrom > 0 && prefixAt(checkFrom) is { } mine && mine != _committedPrefix[(int)checkFrom])
        {
            throw new SafetyViolationException(
                Checker.LeaderCompleteness,
                $"node {node} (term {term}) has a different entry at committed index {checkFrom} than was committed before");
        }

        for (var index = known + 1; index <= commit; index++)
        {
            if (prefixAt(index) is not { } prefix)
            {
                // The node's log no longer holds it (compacted): someone else will report it.
                break;
            }

            _committedPrefix.Add(prefix);
        }

        if (!_maxCommitSeenAtTerm.TryGetValue(term, out var seen) || seen < commit)
        {
            _maxCommitSeenAtTerm[term] = commit;
        }
    }

    /// <summary>
    /// Leader Completeness: <paramref name="node"/> leads <paramref name="term"/>; every entry committed
    /// in an earlier term must be in its log. <paramref name="prefixAt"/> reads its log;
    /// <paramref name="snapshotIndex"/> is where its log starts (entries below it are in its snapshot,
    /// which log matching already vouches for).
    /// </summary>
    public void CheckLeaderCompleteness(ulong node, ulong term, ulong snapshotIndex, Func<ulong, ulong?> prefixAt)
    {
        ulong committedBefore = 0;
        foreach (var (seenTerm, commit) in _maxCommitSeenAtTerm)
        {
            if (seenTerm >= term)
            {
                break;
            }

            committedBefore = Math.Max(committedBefore, commit);
        }

        committedBefore = Math.Min(committedBefore, CommittedIndex);
        if (committedBefore == 0 || committedBefore < snapshotIndex)
        {
            return;
        }

        if (prefixAt(committedBefore) != _committedPrefix[(int)committedBefore])
        {
            throw new SafetyViolationException(
                Checker.LeaderCompleteness,
                $"leader {node} of term {term} lacks the entry committed at index {committedBefore} in an earlier term");
        }
    }

    /// <summary>State Machine Safety: <paramref name="node"/> applied the entry with this fingerprint at
    /// <paramref name="index"/> and its state machine then had <paramref name="stateHash"/>.</summary>
    public void ObserveApply(ulong node, ulong index, ulong entryHash, ulong stateHash)
    {
        Record(_appliedEntry, index, entryHash, node, "applied a different command at index");
        Record(_stateAfter, index, stateHash, node, "reached a different state after index");
    }

    /// <summary>A node installed a snapshot: its state at that index must be everyone's.</summary>
    public void ObserveSnapshotState(ulong node, ulong index, ulong stateHash) =>
        Record(_stateAfter, index, stateHash, node, "installed a snapshot whose state differs at index");

    private static void Record(List<ulong> seen, ulong index, ulong hash, ulong node, string what)
    {
        while ((ulong)seen.Count <= index)
        {
            seen.Add(0);
        }

        var slot = (int)index;
        if (seen[slot] == 0)
        {
            seen[slot] = hash == 0 ? 1 : hash;
            return;
        }

        if (seen[slot] != (hash == 0 ? 1 : hash))
        {
            throw new SafetyViolationException(Checker.StateMachineSafety, $"node {node} {what} {index} than another node");
        }
    }
}
