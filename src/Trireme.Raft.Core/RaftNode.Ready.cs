namespace Trireme.Raft.Core;

/// <summary>
/// The hand-off to the host (see <see cref="Ready"/> for the ordering contract). One Ready is outstanding
/// at a time; Advance marks its entries and snapshot durable, its committed entries applied, and applies
/// the membership changes among them.
/// </summary>
public sealed partial class RaftNode
{
    private HardState _persistedHardState;
    private SoftState _reportedSoftState;
    private Ready? _outstanding;
    private ulong _outstandingLastEntryIndex;

    private HardState CurrentHardState => new(Term, Vote, _log.Committed);

    /// <summary>Whether TakeReady has work for the host. False while a Ready is outstanding.</summary>
    public bool HasReady() =>
        _outstanding is null
        && (_outbox.Count > 0
            || _appendBroadcastPending
            || _commitBroadcastPending
            || _readStates.Count > 0
            || CurrentHardState != _persistedHardState
            || _log.Stable < _log.LastIndex
            || _log.UnstableSnapshot is not null
            || _log.HasEntriesToApply
            || new SoftState(Leader, Role) != _reportedSoftState);

    public Ready TakeReady()
    {
        if (_outstanding is not null)
        {
            throw new InvalidOperationException("the previous Ready has not been advanced");
        }

        FlushPendingBroadcast();
        var hardState = CurrentHardState;
        var softState = new SoftState(Leader, Role);
        var entries = _log.UnstableEntries();
        var snapshot = _log.UnstableSnapshot;
        var committed = _log.EntriesToApply(_config.MaxCommittedBytesPerReady);
        var termOrVoteChanged = hardState.Term != _persistedHardState.Term || hardState.Vote != _persistedHardState.Vote;
        CheckApplyOrder(committed);
        var ready = new Ready
        {
            HardState = hardState != _persistedHardState ? hardState : null,
            Entries = entries,
            Snapshot = snapshot,
            Messages = _outbox,
            CommittedEntries = committed,
            ReadStates = _readStates,
            SoftState = softState != _reportedSoftState ? softState : null,
            MustSync = entries.Length > 0 || snapshot is not null || termOrVoteChanged,
            MaySendBeforePersist = Role == RaftRole.Leader && snapshot is null && !termOrVoteChanged,
        };

        _outbox = [];
        _readStates = [];
        _persistedHardState = hardState;
        _reportedSoftState = softState;
        _outstanding = ready;
        _outstandingLastEntryIndex = entries.Length > 0 ? entries[^1].Index : 0;
        if (Role == RaftRole.Leader)
        {
            _uncommittedBytes = Math.Max(0, _uncommittedBytes - SizeOf(committed));
        }

        return ready;
    }

    /// <summary>
    /// The host has persisted, sent and applied the Ready it took. Conf changes in its committed entries
    /// take effect now, in log order.
    /// </summary>
    public void Advance(Ready ready)
    {
        if (ready is null || !ReferenceEquals(ready, _outstanding))
        {
            throw new InvalidOperationException("Advance must be given the outstanding Ready");
        }

        _outstanding = null;
        if (ready.Snapshot is not null)
        {
            _log.StableSnapshot();
        }

        if (_outstandingLastEntryIndex > 0)
        {
            _log.StableTo(_outstandingLastEntryIndex);
            // The leader's own entries now count towards commit (QuorumMatchIndex); with a single voter,
            // or acks that arrived before the leader's own write finished, this is what commits them.
            if (Role == RaftRole.Leader && MaybeCommit())
            {
                _commitBroadcastPending = true;
            }
        }

        foreach (var entry in ready.CommittedEntries)
        {
            if (entry.Type == EntryType.ConfChange)
            {
                ApplyConfChangeEntry(entry);
            }
        }

        if (ready.CommittedEntries.Count > 0 && ready.CommittedEntries[^1].Index > _log.Applied)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
        }
    }

    /// <summary>Entries handed to apply must continue exactly where the last batch ended.</summary>
    private void CheckApplyOrder(Entry[] committed)
    {
        var expected = _log.Applied + 1;
        foreach (var entry in committed)
        {
            if (entry.Index != expected)
            {
                throw Invariants.Violation($"committed entries not contiguous: expected {expected}, got {entry.Index}");
            }

            expected++;
        }
    }
}
