namespace Trireme.Raft.Core;

/// <summary>
/// Membership (Raft §6, single-server changes as in the thesis §4.1): a ConfChange entry takes effect on
/// each node when it is applied, at Advance. Learners receive the log but neither vote nor count towards
/// a quorum. One change may be pending at a time, which keeps any two consecutive configurations'
/// majorities overlapping.
/// </summary>
public sealed partial class RaftNode
{
    private readonly List<ulong> _voters = [];
    private readonly List<ulong> _learners = [];
    private readonly Dictionary<ulong, Progress> _progress = [];

    /// <summary>The log index the current configuration reflects (changes at or below it are already in).</summary>
    private ulong _configIndex;

    /// <summary>Index of the last conf change the leader appended; another waits until it is applied.</summary>
    private ulong _pendingConfIndex;

    private ConfState CurrentConfState() => new(_voters.ToArray(), _learners.ToArray());

    private void ApplyConfState(ConfState state)
    {
        _voters.Clear();
        _learners.Clear();
        _voters.AddRange(state.Voters.Distinct());
        _learners.AddRange(state.Learners.Where(l => !_voters.Contains(l)).Distinct());
        _voters.Sort();
        _learners.Sort();
        SyncProgress();
    }

    private bool RemovesLastVoter(ConfChange change) =>
        change.Type == ConfChangeType.RemoveNode && _voters.Count == 1 && _voters[0] == change.NodeId;

    /// <summary>Applies one committed ConfChange entry (called from Advance, in log order).</summary>
    private void ApplyConfChangeEntry(Entry entry)
    {
        if (entry.Index <= _configIndex)
        {
            return; // already reflected (bootstrap entries, or covered by an installed snapshot)
        }

        _configIndex = entry.Index;
        if (!ConfChange.TryDecode(entry.Data.Span, out var change))
        {
            return; // a malformed change commits as a no-op on every node alike
        }

        ApplyConfChange(change);
        SyncProgress();
        AfterConfChange(change);
    }

    private void ApplyConfChange(ConfChange change)
    {
        var id = change.NodeId;
        switch (change.Type)
        {
            case ConfChangeType.AddVoter:
                _learners.Remove(id);
                AddSorted(_voters, id);
                break;
            case ConfChangeType.AddLearner when !_voters.Contains(id):
                AddSorted(_learners, id);
                break;
            case ConfChangeType.PromoteLearner when _learners.Remove(id):
                AddSorted(_voters, id);
                break;
            case ConfChangeType.RemoveNode:
                _voters.Remove(id);
                _learners.Remove(id);
                break;
        }
    }

    private void AfterConfChange(ConfChange change)
    {
        if (Role != RaftRole.Leader)
        {
            return;
        }

        if (change.Type == ConfChangeType.RemoveNode && change.NodeId == Id)
        {
            // A leader that removed itself steps down; the remaining voters elect a successor.
            BecomeFollower(Term, 0);
            return;
        }

        if (change.Type == ConfChangeType.RemoveNode && change.NodeId == _leadTransferee)
        {
            AbortLeaderTransfer();
        }

        // The quorum changed: entries may now be committed (a removed node no longer holds them back).
        if (MaybeCommit())
        {
            _commitBroadcastPending = true;
        }
    }

    private static void AddSorted(List<ulong> list, ulong id)
    {
        var at = list.BinarySearch(id);
        if (at < 0)
        {
            list.Insert(~at, id);
        }
    }

    /// <summary>Keeps one Progress per member: new members start probing at our last index.</summary>
    private void SyncProgress()
    {
        foreach (var id in _progress.Keys.ToArray())
        {
            if (!_voters.Contains(id) && !_learners.Contains(id))
            {
                _progress.Remove(id);
            }
        }

        AddProgress(_voters, isLearner: false);
        AddProgress(_learners, isLearner: true);
    }

    private void AddProgress(List<ulong> ids, bool isLearner)
    {
        foreach (var id in ids)
        {
            if (_progress.TryGetValue(id, out var existing))
            {
                existing.IsLearner = isLearner;
                continue;
            }

            _progress[id] = new Progress(_log.LastIndex + 1, _config.MaxInflightMessages, _config.MaxInflightBytes, isLearner)
            {
                Match = id == Id ? _log.LastIndex : 0,
                // A new member gets an election timeout before CheckQuorum holds its silence against us.
                RecentActive = true,
            };
        }
    }
}
