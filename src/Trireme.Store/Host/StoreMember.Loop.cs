using System.Text.Json;
using Microsoft.Extensions.Logging;
using Trireme.Raft.Core;
using Trireme.Store.Core;
using Trireme.Store.Raft;
using Trireme.Store.Wal;

namespace Trireme.Store.Host;

// The loop thread: actions in, Ready out.
public sealed partial class StoreMember
{
    /// <summary>Actions run per round before Ready is drained, so a flood of messages still lets the
    /// loop persist and answer in bounded time.</summary>
    private const int MaxActionsPerRound = 4096;

    /// <summary>Lease revokes proposed per tick by the leader (etcd revokes expired leases in batches too).</summary>
    private const int MaxLeaseRevokesPerTick = 16;

    /// <summary>Ticks between lease checkpoint proposals (etcd checkpoints every 5 min; 30 s here at 100 ms).</summary>
    private const int LeaseCheckpointIntervalTicks = 300;

    private void RunLoop()
    {
        try
        {
            var reader = _inbox.Reader;
            while (WaitForActions(reader))
            {
                for (var i = 0; i < MaxActionsPerRound && reader.TryRead(out var action); i++)
                {
                    action();
                }

                DrainReady();
                PumpWatches();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The loop owns the replicated state: an unexpected exception is a bug, and carrying on could
            // apply entries inconsistently. Crash loudly (STYLE: bugs crash).
            DurableFiles.FailFast($"raft loop failed: {e}");
        }
        finally
        {
            _loopStopped.TrySetResult();
        }
    }

    /// <summary>Blocks (without spinning) until the inbox has an action; false once it is completed and empty.</summary>
    private bool WaitForActions(System.Threading.Channels.ChannelReader<Action> reader)
    {
        while (!reader.TryPeek(out _))
        {
            _inboxSignal.Reset();
            if (reader.TryPeek(out _))
            {
                break; // posted between the check and the reset
            }

            if (reader.Completion.IsCompleted)
            {
                return false;
            }

            _inboxSignal.Wait();
        }

        return true;
    }

    private void OnTick()
    {
        _nowTicks++;
        _raft.Tick();
        if (_role == RaftRole.Leader)
        {
            foreach (var lease in _store.Leases.Expired(_nowTicks, MaxLeaseRevokesPerTick))
            {
                ProposeInternal(new LeaseRevokeRequest { Id = lease });
            }

            if (_nowTicks % LeaseCheckpointIntervalTicks == 0 &&
                _store.Leases.Checkpoints(_nowTicks, 1000) is { Count: > 0 } checkpoints)
            {
                ProposeInternal(new LeaseCheckpointRequest { Checkpoints = checkpoints });
            }
        }

        if (_nowTicks % 10 == 0)
        {
            MaybePublishAttributes();
        }

        _store.Watches.SyncUnsynced();
        TickReads();
    }

    private void ProposeInternal(StoreRequest request) => _raft.Propose(EncodeStoreEntry(request, requestId: 0));

    private void DrainReady()
    {
        while (_raft.HasReady())
        {
            var ready = _raft.TakeReady();
            // Before anything this Ready applies is answered: an answer never shows an older term.
            Volatile.Write(ref _publishedTerm, _raft.Term);
            if (ready.Snapshot is null)
            {
                DrainEntriesReady(ready);
            }
            else
            {
                DrainSnapshotReady(ready);
            }

            foreach (var state in ready.ReadStates)
            {
                OnReadState(state);
            }

            _raft.Advance(ready);
            ServeReadyReads();
            MaybeSnapshot();
        }
    }

    /// <summary>
    /// The common Ready: the committed entries are applied (and their clients answered) BEFORE this
    /// Ready's new entries are written. The core hands out for applying only entries an earlier Ready
    /// made durable (and committed on a majority), so nothing they reveal depends on this Ready's fsync;
    /// under load that fsync no longer sits between a commit and its answer. A leader with a durable term
    /// also sends first (Raft thesis §10.2.1): the followers' fsyncs run while its own does, and the core
    /// counts its own entries only after Advance. Everyone else persists before sending.
    /// </summary>
    private void DrainEntriesReady(Ready ready)
    {
        if (ready.MaySendBeforePersist)
        {
            Send(ready.Messages);
        }

        if (ready.SoftState is { } soft)
        {
            OnSoftState(soft);
        }

        foreach (var entry in ready.CommittedEntries)
        {
            Apply(entry);
        }

        Persist(ready);
        if (!ready.MaySendBeforePersist)
        {
            Send(ready.Messages);
        }
    }

    /// <summary>A Ready that installs a snapshot keeps the contract's plain order: persist the file and
    /// marker, send, restore the state machine, then apply what follows it.</summary>
    private void DrainSnapshotReady(Ready ready)
    {
        Persist(ready);
        Send(ready.Messages);
        if (ready.SoftState is { } soft)
        {
            OnSoftState(soft);
        }

        if (ready.Snapshot is { } snapshot && snapshot.Metadata.Index > _appliedIndex)
        {
            RestoreStateMachine(snapshot.Data.Span);
            _snapshotEpoch++;
            _appliedIndex = _snapshotIndex = snapshot.Metadata.Index;
            _appliedTerm = snapshot.Metadata.Term;
            _appliedBytesAtSnapshot = _appliedBytes;
            Volatile.Write(ref _lastSnapshotBytes, (ulong)snapshot.Data.Length);
            SyncTransportPeers();
        }

        foreach (var entry in ready.CommittedEntries)
        {
            Apply(entry);
        }
    }

    private void Persist(Ready ready)
    {
        if (ready.Snapshot is { } snapshot)
        {
            WaitForSnapshotWrite();
            var meta = snapshot.Metadata;
            _snapshots.Save(new StoredSnapshot(meta.Index, meta.Term, meta.ConfState.Voters, meta.ConfState.Learners, snapshot.Data));
            _wal.SaveMarker(new WalSnapshotMarker(meta.Index, meta.Term));
        }

        if (ready.HardState is not null || ready.Entries.Count > 0)
        {
            WalHardState? hs = ready.HardState is { } h ? new WalHardState(h.Term, h.Vote, h.Commit) : null;
            var entries = ready.Entries.Select(e => new WalEntry(e.Term, e.Index, (byte)e.Type, e.Data)).ToList();
            if (!ready.MustSync)
            {
                // Only the commit index moved: written in order, made durable by the next fsync, not
                // waited for. A crash may forget it; peers tell us again (etcd does not sync it either).
                _ = _wal.AppendAsync(hs, entries, sync: false);
                return;
            }

            // One group commit: the writer fsyncs once for this Ready (and anything else queued with it).
            _wal.Append(hs, entries);
        }
    }

    private void Send(IReadOnlyList<Message> messages)
    {
        foreach (var message in messages)
        {
            var sent = _transport.Send(message.To, RaftWireCodec.Encode(message));
            if (message.Type == MessageType.InstallSnapshot)
            {
                // Queued is as far as this transport can tell; the core probes again afterwards either way.
                var to = message.To;
                Post(() => _raft.ReportSnapshotStatus(to, sent));
            }
        }
    }

    private void OnSoftState(SoftState soft)
    {
        var wasLeader = _role == RaftRole.Leader;
        _role = soft.Role;
        if (_leader == 0 && soft.Leader != 0 && !_published.Task.IsCompleted)
        {
            // Publish as soon as there is a leader to take it, not at the next 10-tick retry: clients
            // wait for it. Posted, so the proposal happens between Ready rounds.
            Post(MaybePublishAttributes);
        }

        Volatile.Write(ref _leader, soft.Leader);
        if (soft.Role == RaftRole.Leader && !wasLeader)
        {
            // etcd's lessor.Promote: leases get an extra election timeout instead of expiring at once.
            _store.Leases.Promote(_nowTicks, _options.ElectionTicks);
            LogBecameLeader(_logger, _options.Name, _raft.Term);
        }
        else if (soft.Role != RaftRole.Leader && wasLeader)
        {
            _store.Leases.Demote();
        }
    }

    private void Apply(Entry entry)
    {
        if (entry.Index <= _appliedIndex)
        {
            return;
        }

        _appliedIndex = entry.Index;
        _appliedTerm = entry.Term;
        _appliedBytes += (ulong)entry.Data.Length;
        if (entry.Type == EntryType.ConfChange)
        {
            _snapshotEpoch++;
            ApplyConfChange(entry);
            _store.MarkApplied((long)entry.Index);
            return;
        }

        if (!EntryEnvelope.TryDecode(entry.Data.Span, out var kind, out var proposer, out var requestId, out var body))
        {
            _store.MarkApplied((long)entry.Index); // the leader's no-op (empty) entry
            return;
        }

        object? outcome;
        switch (kind)
        {
            case EntryEnvelope.StoreCommand:
                // As memory: a plain put's value stays a slice of the entry (log entries never change).
                outcome = _store.Apply((long)entry.Index, entry.Data[EntryEnvelope.HeaderBytes..], _nowTicks);
                break;
            case EntryEnvelope.MemberAttributes:
                ApplyAttributes(body);
                _store.MarkApplied((long)entry.Index);
                outcome = null;
                break;
            default:
                _store.MarkApplied((long)entry.Index);
                outcome = null;
                break;
        }

        if (proposer == Id && requestId != 0 && TakePending(requestId, out var waiter))
        {
            waiter.TrySetResult(outcome);
        }
    }

    private void ApplyConfChange(Entry entry)
    {
        if (!ConfChange.TryDecode(entry.Data.Span, out var change))
        {
            return;
        }

        ConfChangeContext? context = null;
        if (change.Context.Length > 0)
        {
            try
            {
                context = JsonSerializer.Deserialize(change.Context.Span, MemberJson.Default.ConfChangeContext);
            }
            catch (JsonException)
            {
                context = null; // every member ignores the same malformed context alike
            }
        }

        var existing = _members.GetValueOrDefault(change.NodeId);
        switch (change.Type)
        {
            case ConfChangeType.AddVoter:
            case ConfChangeType.AddLearner:
                var info = context?.Member ?? existing ?? new MemberInfo();
                _members[change.NodeId] = info with
                {
                    Id = change.NodeId,
                    Name = existing?.Name is { Length: > 0 } name ? name : info.Name,
                    ClientUrls = existing?.ClientUrls is { Count: > 0 } urls ? urls : info.ClientUrls,
                    IsLearner = change.Type == ConfChangeType.AddLearner,
                };
                break;
            case ConfChangeType.PromoteLearner when existing is not null:
                _members[change.NodeId] = existing with { IsLearner = false };
                break;
            case ConfChangeType.RemoveNode:
                _members.Remove(change.NodeId);
                if (change.NodeId != Id)
                {
                    _transport.RemovePeer(change.NodeId);
                }

                break;
        }

        SyncTransportPeers();
        if (context is { } c && c.Proposer == Id && TakePending(c.RequestId, out var waiter))
        {
            waiter.TrySetResult(_members.Values.OrderBy(m => m.Id).ToList());
        }
    }

    private void ApplyAttributes(ReadOnlySpan<byte> body)
    {
        MemberInfo? attributes;
        try
        {
            attributes = JsonSerializer.Deserialize(body, MemberJson.Default.MemberInfo);
        }
        catch (JsonException)
        {
            return;
        }

        if (attributes is not null && _members.TryGetValue(attributes.Id, out var existing))
        {
            _members[attributes.Id] = existing with { Name = attributes.Name, ClientUrls = attributes.ClientUrls };
            if (attributes.Id == Id && IsPublished(_members[Id]))
            {
                _published.TrySetResult();
            }
        }
    }

    /// <summary>Like etcd's publish: a member announces its name and client URLs through the log, so
    /// every member's MemberList shows them. Retried until applied.</summary>
    private void MaybePublishAttributes()
    {
        if (_leader == 0 || !_members.TryGetValue(Id, out var me))
        {
            return;
        }

        if (IsPublished(me))
        {
            _published.TrySetResult();
            return;
        }

        var wanted = _options.AdvertiseClientUrls;
        var body = JsonSerializer.SerializeToUtf8Bytes(new MemberInfo { Id = Id, Name = _options.Name, ClientUrls = wanted },
            MemberJson.Default.MemberInfo);
        _raft.Propose(EntryEnvelope.Encode(EntryEnvelope.MemberAttributes, Id, 0, body));
    }

    private bool IsPublished(MemberInfo me) =>
        me.Name == _options.Name && me.ClientUrls.SequenceEqual(_options.AdvertiseClientUrls);

    /// <summary>
    /// Every SnapshotCount applied entries: capture an immutable view of the state machine on the loop
    /// (a copy of one reference per revision), encode it in the background, then back on the loop let
    /// the core compact its log with it, and write the snapshot file (fsync + rename), mark it in the WAL
    /// and release older segments in the background again. Encoding tens of MB on the loop stalled every
    /// write for hundreds of ms, and so did the file write, which showed as bursts of slow puts and even
    /// elections. Safe because nothing depends on the file until its marker is written: until then a
    /// restart recovers from the previous snapshot plus the WAL, whose segments are released only after
    /// the marker. An encoding overtaken by a conf change or an installed snapshot is dropped (the core
    /// must record the configuration in force at the snapshot's index). One snapshot at a time. Both
    /// background steps run on their own low-priority thread (<see cref="BackgroundThread"/>), not on
    /// the thread pool that serves requests, and the file is written in paced slices
    /// (<see cref="SnapshotFiles.Save"/>) so the WAL's fsyncs keep getting the disk.
    /// </summary>
    private void MaybeSnapshot()
    {
        if (!SnapshotDue() || !_snapshotEncode.IsCompleted || !_snapshotWrite.IsCompleted)
        {
            return;
        }

        var (index, term, epoch, previous) = (_appliedIndex, _appliedTerm, _snapshotEpoch, _snapshotIndex);
        var previousBytes = _appliedBytesAtSnapshot;
        var members = MemberIdentity.Encode(_members.Values.OrderBy(m => m.Id).ToList());
        var view = _store.CaptureSnapshot();
        _snapshotIndex = index;
        _appliedBytesAtSnapshot = _appliedBytes;
        _snapshotEncode = BackgroundThread.Run("trireme-snapshot-encode", () =>
        {
            var data = EncodeSnapshot(members, view);
            Volatile.Write(ref _lastSnapshotBytes, (ulong)data.Length);
            // If the loop is stopping or its inbox is full the snapshot is skipped; the next one is due
            // SnapshotCount entries later.
            Post(() => CompactWithSnapshot(index, term, epoch, previous, previousBytes, data));
        });
    }

    private bool SnapshotDue() => SnapshotPolicy.Due(
        _appliedIndex - _snapshotIndex, _options.SnapshotCount, _appliedBytes - _appliedBytesAtSnapshot,
        Volatile.Read(ref _lastSnapshotBytes));

    private void CompactWithSnapshot(ulong index, ulong term, long epoch, ulong previous, ulong previousBytes, byte[] data)
    {
        if (epoch != _snapshotEpoch || _stopping)
        {
            if (_snapshotIndex == index)
            {
                _snapshotIndex = previous; // retry at the next round
                _appliedBytesAtSnapshot = previousBytes;
            }

            return;
        }

        _raft.Compact(index, data);
        var conf = _raft.Status.ConfState;
        var snapshot = new StoredSnapshot(index, term, conf.Voters, conf.Learners, data);
        _snapshotWrite = BackgroundThread.Run("trireme-snapshot-write", () => WriteSnapshotFiles(snapshot));
    }

    private void WriteSnapshotFiles(StoredSnapshot snapshot)
    {
        try
        {
            _snapshots.Save(snapshot, paced: true);
            _wal.SaveMarker(new WalSnapshotMarker(snapshot.Index, snapshot.Term));
            _ = _wal.ReleaseAsync(snapshot.Index);
            LogSnapshot(_logger, _options.Name, snapshot.Index, snapshot.Data.Length);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // As on the loop: a snapshot that cannot be written is a disk fault or a bug; do not go on.
            DurableFiles.FailFast($"snapshot write failed: {e}");
        }
    }

    /// <summary>Waits for a background snapshot write (before another writer touches the snapshot files).</summary>
    private void WaitForSnapshotWrite() => _snapshotWrite.GetAwaiter().GetResult();

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "member {Name} became leader at term {Term}")]
    private static partial void LogBecameLeader(ILogger logger, string name, ulong term);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "member {Name} snapshot at index {Index} ({Bytes} bytes); log compacted")]
    private static partial void LogSnapshot(ILogger logger, string name, ulong index, int bytes);
}
