using Trireme.Linearizability;
using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// One simulated member: a Raft core, its disk, its state machine, and the host loop that moves work
/// between them exactly as the Ready contract orders it — persist (and fsync) hard state, snapshot
/// and entries; then send messages; then install the snapshot and apply committed entries; then
/// Advance. Broken variants reorder those steps on purpose.
/// </summary>
internal sealed class SimNode
{
    private readonly Simulator _sim;
    private readonly List<ReadState> _waitingReads = [];
    private RaftNode _core;

    public SimNode(Simulator sim, ulong id, RaftNode core, double tickRate)
    {
        _sim = sim;
        Id = id;
        _core = core;
        TickRate = tickRate;
        Disk = new SimulatedDisk((entry, prefix) => sim.Safety.ObserveDurableEntry(id, entry.Index, entry.Term, prefix));
    }

    public ulong Id { get; }

    public RaftNode Core => _core;

    public SimulatedDisk Disk { get; }

    public KvStateMachine StateMachine { get; private set; } = new();

    public ulong Applied { get; private set; }

    public bool IsAlive { get; private set; } = true;

    /// <summary>Removed from the configuration and shut down for good.</summary>
    public bool IsRetired { get; set; }

    public RaftRole Role { get; private set; }

    public ulong Leader { get; private set; }

    public ulong Term => Disk.Written.HardState.Term;

    public double TickRate { get; set; }

    public long RestartAt { get; set; }

    /// <summary>How far behind the broken SendBeforePersist host's disk runs.</summary>
    private const int LazySyncEverySteps = 25;

    private double _tickCredit;
    private long _lastLazySyncStep;

    /// <summary>
    /// A leader Ready whose messages went out before its own write (Ready.MaySendBeforePersist, as the
    /// store host does): written but not yet synced, applied or advanced. It is finished at the start of
    /// the node's next ProcessReady, so the network may deliver acks to the core in between (the core
    /// must not count the leader's unsynced entries) and a crash in between loses the unsynced writes
    /// while the followers already hold them.
    /// </summary>
    private Ready? _writing;
    private long _writingSince;

    public void Tick()
    {
        _tickCredit += TickRate;
        while (_tickCredit >= 1)
        {
            _tickCredit -= 1;
            _core.Tick();
        }
    }

    public void Step(Message message) => _core.Step(message);

    /// <summary>Runs the host loop until the core has nothing more to hand out (bounded: a core that
    /// always has work would otherwise spin the simulator forever).</summary>
    public void ProcessReady(long now)
    {
        if (_writing is { } writing && IsAlive && now > _writingSince)
        {
            _writing = null;
            Disk.Sync();
            FinishReady(writing, now);
        }

        for (var round = 0; round < 8 && IsAlive && _writing is null && _core.HasReady(); round++)
        {
            HandleReady(_core.TakeReady(), now);
        }
    }

    private ulong _lastTracedCommit;

    public void Crash(Random random)
    {
        _sim.TraceEvent($"node {Id} crashes (durable last index {Disk.Durable.LastIndex}, written {Disk.Written.LastIndex})");
        IsAlive = false;
        Role = RaftRole.Follower;
        Leader = 0;
        _waitingReads.Clear();
        _writing = null;
        if (Disk.HasUnsynced)
        {
            _sim.Stats.Count(FaultKind.UnsyncedWritesLost);
        }

        Disk.Crash(random);
    }

    public void Restart(RaftConfig config, Random random, bool forgetVote)
    {
        var persisted = Disk.Durable.ToPersistedState();
        if (forgetVote)
        {
            persisted = persisted with { HardState = persisted.HardState with { Vote = 0 } };
        }

        _core = RaftNode.Restart(config, persisted, random);
        _sim.TraceEvent($"node {Id} restarts: term {persisted.HardState.Term} vote {persisted.HardState.Vote} commit {persisted.HardState.Commit}, last index {Disk.Durable.LastIndex}, voters {string.Join(",", _core.Status.ConfState.Voters)}");
        var snapshot = Disk.Durable.Snapshot;
        StateMachine = snapshot is null ? new KvStateMachine() : KvStateMachine.Deserialize(snapshot.Data.Span);
        Applied = Disk.Durable.SnapshotIndex;
        IsAlive = true;
        Role = RaftRole.Follower;
        Leader = 0;
        _tickCredit = 0;
    }

    public void Retire()
    {
        IsAlive = false;
        IsRetired = true;
        Role = RaftRole.Follower;
        _waitingReads.Clear();
    }

    private void HandleReady(Ready ready, long now)
    {
        var broken = _sim.Options.Broken;
        if (broken.HasFlag(BrokenVariant.SendBeforePersist))
        {
            // Broken: messages leave before the writes they depend on are durable, and the disk is only
            // flushed every few steps (a write-back cache trusted as if it were stable storage).
            if (now >= _lastLazySyncStep + LazySyncEverySteps)
            {
                Disk.Sync();
                _lastLazySyncStep = now;
            }

            Send(ready, now);
            Persist(ready, sync: false);
        }
        else if (ready.MaySendBeforePersist && broken == BrokenVariant.None)
        {
            // What the store host does on a leader: send, then write; the write completes later.
            Send(ready, now);
            Persist(ready, sync: false);
            _writing = ready;
            _writingSince = now;
            return;
        }
        else
        {
            if (broken.HasFlag(BrokenVariant.ApplyBeforePersist))
            {
                // Broken: entries handed over to persist are applied (and answered) at once.
                ApplyEntries(ready.Entries, now, early: true);
            }

            Persist(ready, sync: ready.MustSync || ready.Snapshot is not null || ready.Entries.Count > 0);
            Send(ready, now);
        }

        FinishReady(ready, now);
    }

    /// <summary>After the Ready is durable (and sent): install, apply, serve reads, Advance.</summary>
    private void FinishReady(Ready ready, long now)
    {
        InstallSnapshot(ready.Snapshot);
        ApplyEntries(ready.CommittedEntries, now, early: false);
        _waitingReads.AddRange(ready.ReadStates);
        ServeReads(now);
        ObserveSoftState(ready.SoftState);
        _core.Advance(ready);
        MaybeCompact();
    }

    private void Persist(Ready ready, bool sync)
    {
        if (ready.Snapshot is { } snapshot)
        {
            var meta = snapshot.Metadata;
            var anchor = _sim.Safety.KnownPrefix(meta.Index, meta.Term) ?? Hashing.UnanchoredSnapshot(meta.Index, meta.Term);
            Disk.WriteSnapshot(snapshot, anchor, keepSuffix: false);
        }

        Disk.WriteEntries(ready.Entries);
        if (ready.HardState is { } hardState)
        {
            Disk.WriteHardState(hardState);
        }

        if (sync)
        {
            Disk.Sync();
        }

        if (ready.HardState is { } persisted)
        {
            if (_sim.Options.Trace is not null && persisted.Commit != _lastTracedCommit)
            {
                _lastTracedCommit = persisted.Commit;
                _sim.TraceEvent($"node {Id} term {persisted.Term} vote {persisted.Vote} commit {persisted.Commit} (last {Disk.Written.LastIndex}, synced {sync})");
            }

            _sim.Safety.ObserveCommit(Id, persisted.Term, persisted.Commit, Disk.Written.PrefixAt);
        }
    }

    private void Send(Ready ready, long now)
    {
        foreach (var message in ready.Messages)
        {
            _sim.Network.Send(message, now);
        }
    }

    private void InstallSnapshot(Snapshot? snapshot)
    {
        if (snapshot is null || snapshot.Metadata.Index <= Applied)
        {
            return;
        }

        StateMachine = KvStateMachine.Deserialize(snapshot.Data.Span);
        Applied = snapshot.Metadata.Index;
        _sim.TraceEvent($"node {Id} installs snapshot at index {Applied} term {snapshot.Metadata.Term}, voters {string.Join(",", snapshot.Metadata.ConfState.Voters)}");
        _sim.Stats.SnapshotsInstalled++;
        _sim.Safety.ObserveSnapshotState(Id, Applied, StateMachine.StateHash());
    }

    private void ApplyEntries(IReadOnlyList<Entry> entries, long now, bool early)
    {
        foreach (var entry in entries)
        {
            if (entry.Index <= Applied)
            {
                continue;
            }

            if (entry.Index != Applied + 1)
            {
                if (early)
                {
                    return;
                }

                throw new SafetyViolationException(
                    Checker.CoreInvariant, $"node {Id} was handed entry {entry.Index} to apply after applying {Applied}");
            }

            if (entry.Type == EntryType.ConfChange)
            {
                if (ConfChange.TryDecode(entry.Data.Span, out var change))
                {
                    _sim.TraceEvent($"node {Id} applies {change.Type} {change.NodeId} at index {entry.Index}; voters now {string.Join(",", _core.Status.ConfState.Voters)}");
                    _sim.OnConfChangeApplied(this, change, now);
                }
            }
            else if (!entry.Data.IsEmpty)
            {
                var command = KvCommand.Decode(entry.Data.Span);
                var output = StateMachine.Apply(command);
                if (output is { } answer)
                {
                    _sim.OnCommandApplied(this, command, answer, now);
                }
            }

            Applied = entry.Index;
            _sim.Stats.EntriesApplied++;
            _sim.Safety.ObserveApply(Id, entry.Index, Hashing.Entry(entry), StateMachine.StateHash());
        }
    }

    private void ServeReads(long now)
    {
        for (var i = 0; i < _waitingReads.Count; i++)
        {
            var read = _waitingReads[i];
            if (read.Index > Applied)
            {
                continue;
            }

            _waitingReads.RemoveAt(i--);
            _sim.OnReadReady(this, read.RequestContext.Span, now);
        }
    }

    public void ServePendingReads(long now)
    {
        if (_waitingReads.Count > 0)
        {
            ServeReads(now);
        }
    }

    private void ObserveSoftState(SoftState? soft)
    {
        if (soft is not { } state)
        {
            return;
        }

        var wasLeader = Role == RaftRole.Leader;
        if (Role != state.Role || Leader != state.Leader)
        {
            _sim.TraceEvent($"node {Id} term {Term}: {state.Role}, leader {state.Leader}, last index {Disk.Written.LastIndex}");
        }

        Role = state.Role;
        Leader = state.Leader;
        if (Role == RaftRole.Leader)
        {
            _sim.Safety.ObserveLeader(Id, Term);
            if (!wasLeader)
            {
                _sim.Stats.Elections++;
                _sim.Stats.Leaders.Add(Id);
            }
        }
    }

    private void MaybeCompact()
    {
        var every = (ulong)_sim.Options.SnapshotEveryEntries;
        if (_sim.Options.Broken.HasFlag(BrokenVariant.ApplyBeforePersist))
        {
            // The state machine runs ahead of what the core counts as applied: no consistent snapshot.
            return;
        }

        var written = Disk.Written;
        if (every == 0 || Applied < written.SnapshotIndex + every || written.TermAt(Applied) is not { } term)
        {
            return;
        }

        var data = StateMachine.Serialize();
        var confState = _core.Status.ConfState;
        _core.Compact(Applied, data);
        var snapshot = new Snapshot(new SnapshotMetadata(Applied, term, confState), data);
        Disk.WriteSnapshot(snapshot, written.PrefixAt(Applied)!.Value, keepSuffix: true);
        Disk.Sync();
        _sim.Stats.SnapshotsTaken++;
    }

    public KvOutput ReadLocal(string key) => KvOutput.Read(StateMachine.Get(key));
}
