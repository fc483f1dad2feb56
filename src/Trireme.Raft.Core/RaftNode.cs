namespace Trireme.Raft.Core;

/// <summary>
/// One Raft peer as a pure, single-threaded state machine in the shape of etcd-io/raft's RawNode.
/// Inputs: <see cref="Tick"/> (time, in ticks), <see cref="Step"/> (a peer's message) and the client
/// calls (Propose, ReadIndex, TransferLeadership...). Output: a <see cref="Ready"/> that the host must
/// persist, send and apply in the order written on that type, then <see cref="Advance"/>.
/// No clock, IO or threads inside: the same code runs in production and in the seeded simulator.
/// This file holds the state and the dispatch; each concern lives in its own partial file.
/// </summary>
public sealed partial class RaftNode
{
    private readonly RaftConfig _config;
    private readonly RaftFaults _faults;
    private readonly Random _random;
    private readonly RaftLog _log = new();
    private List<Message> _outbox = [];

    private int _electionElapsedTicks;
    private int _heartbeatElapsedTicks;
    private int _randomizedElectionTimeoutTicks;

    private RaftNode(RaftConfig config, Random random)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(random);
        config.Validate();
        _config = config;
        _faults = config.Faults;
        _random = random;
        Id = config.Id;
        _readIndex = new ReadIndexQueue(config.MaxPendingReadIndexRequests);
    }

    public ulong Id { get; }
    public ulong Term { get; private set; }
    public ulong Vote { get; private set; }
    public ulong Leader { get; private set; }
    public RaftRole Role { get; private set; }

    /// <summary>
    /// Starts a founding member of a new cluster. Every founding member must be given the same ConfState.
    /// Like etcd-io/raft's bootstrap, the configuration is also written into the log as one committed
    /// AddVoter entry per voter (term 1, indexes 1..N), so that a restarted node recovers it from what it
    /// persisted and a later joiner learns it by replaying the log from index 1.
    /// </summary>
    public static RaftNode Bootstrap(RaftConfig config, ConfState initial, Random random)
    {
        ArgumentNullException.ThrowIfNull(initial);
        if (initial.Voters.Count == 0)
        {
            throw new ArgumentException("a new cluster needs at least one voter", nameof(initial));
        }

        var node = new RaftNode(config, random);
        node.ApplyConfState(initial);
        node.BecomeFollower(1, 0);
        var index = 0UL;
        foreach (var voter in initial.Voters)
        {
            var change = new ConfChange(ConfChangeType.AddVoter, voter, ReadOnlyMemory<byte>.Empty);
            node._log.Append(new Entry(1, ++index, EntryType.ConfChange, change.Encode()));
        }

        foreach (var learner in initial.Learners)
        {
            var change = new ConfChange(ConfChangeType.AddLearner, learner, ReadOnlyMemory<byte>.Empty);
            node._log.Append(new Entry(1, ++index, EntryType.ConfChange, change.Encode()));
        }

        node._log.CommitTo(index);
        node._configIndex = index;
        return node;
    }

    /// <summary>
    /// Restarts a node from exactly what the host had made durable. An empty state starts a new joiner:
    /// it has no configuration until it applies the leader's log (or snapshot), so it never campaigns alone.
    /// </summary>
    public static RaftNode Restart(RaftConfig config, RaftPersistedState persisted, Random random)
    {
        ArgumentNullException.ThrowIfNull(persisted);
        var node = new RaftNode(config, random);
        var hardState = persisted.HardState;
        node._log.Restore(persisted.Snapshot, persisted.Entries, hardState.Commit);
        node.ApplyConfState(persisted.Snapshot?.Metadata.ConfState ?? ConfState.Empty);
        node._configIndex = node._log.SnapshotIndex;
        node.Term = hardState.Term;
        node.Vote = hardState.Vote;
        node.BecomeFollower(hardState.Term, 0);
        node._persistedHardState = new HardState(node.Term, node.Vote, node._log.Committed);
        return node;
    }

    /// <summary>One unit of logical time: followers count towards an election, leaders towards a heartbeat.</summary>
    public void Tick()
    {
        if (Role == RaftRole.Leader)
        {
            TickLeader();
        }
        else
        {
            TickElection();
        }

        ExpireHeldProposals();
    }

    /// <summary>
    /// Feeds a message from a peer (or forwarded by one). Stale messages and messages for other nodes are
    /// dropped; it throws only on a true invariant violation.
    /// </summary>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To != Id || message.From == 0
            || message.Type is < MessageType.Append or > MessageType.TransferLeader)
        {
            return;
        }

        if (message.Term == 0 && message.Type is not (MessageType.Propose or MessageType.ReadIndex or MessageType.TransferLeader))
        {
            return; // only requests forwarded between peers travel without a term
        }

        if (!CheckTerm(message))
        {
            return;
        }

        switch (message.Type)
        {
            case MessageType.Vote or MessageType.PreVote:
                HandleVoteRequest(message);
                break;
            default:
                StepByRole(message);
                break;
        }
    }

    private void StepByRole(Message message)
    {
        switch (Role)
        {
            case RaftRole.Leader:
                StepLeader(message);
                break;
            case RaftRole.Follower:
                StepFollower(message);
                break;
            default:
                StepCandidate(message);
                break;
        }
    }

    private void Send(Message message) => _outbox.Add(message);

    private bool IsVoter(ulong id) => _voters.Contains(id);

    /// <summary>Only a voter may campaign: a learner, a removed node or a joiner without config never does.</summary>
    private bool Promotable => _voters.Contains(Id);

    public RaftStatus Status
    {
        get
        {
            var progress = new Dictionary<ulong, PeerProgress>();
            if (Role == RaftRole.Leader)
            {
                foreach (var (id, pr) in _progress)
                {
                    progress[id] = pr.ToStatus();
                }
            }

            return new RaftStatus(Id, Term, Vote, Role, Leader, _log.Committed, _log.Applied, _log.FirstIndex,
                _log.LastIndex, CurrentConfState(), _leadTransferee, progress);
        }
    }
}
