using Trireme.Linearizability;
using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// Runs one seeded whole-cluster simulation: N Raft cores over a simulated network, each with a
/// simulated disk and host loop, simulated clients, and a fault schedule drawn from the same seeded
/// Random. Every step: inject faults, tick, deliver due messages, let clients act, run every host
/// loop, then check the safety properties. The last <see cref="SimOptions.HealSteps"/> steps heal
/// everything and check liveness; at the end the client history is checked for linearizability.
/// </summary>
public sealed partial class Simulator
{
    private readonly Random _random;
    private readonly List<SimNode> _nodes = [];
    private readonly Dictionary<ulong, SimNode> _byId = [];
    private readonly List<SimClient> _clients = [];
    private readonly List<Operation<KvInput, KvOutput>> _history = [];
    private readonly Dictionary<string, string?> _lastValueSeen = new(StringComparer.Ordinal);
    private long _eventClock;

    private Simulator(SimOptions options)
    {
        options.Validate();
        Options = options;
        _random = new Random(options.Seed);
        Network = new SimulatedNetwork(_random, Stats);
    }

    internal SimOptions Options { get; }

    internal SimStats Stats { get; } = new();

    internal SafetyChecker Safety { get; } = new();

    internal SimulatedNetwork Network { get; }

    internal long Now { get; private set; }

    internal bool InHealPhase { get; private set; }

    private long HealStartStep => Options.Steps - Options.HealSteps;

    public static SimResult Run(SimOptions options)
    {
        var sim = new Simulator(options);
        return sim.RunToEnd();
    }

    private SimResult RunToEnd()
    {
        try
        {
            Bootstrap();
            for (Now = 0; Now < Options.Steps; Now++)
            {
                RunStep();
            }

            foreach (var client in _clients)
            {
                client.Abandon();
            }

            return Finish();
        }
        catch (SafetyViolationException violation)
        {
            return Failed(violation.Checker, violation.Message);
        }
        catch (Exception ex) when (ex is SimulationInvariantException or InvalidOperationException or ArgumentException
                                       or IndexOutOfRangeException or ArgumentOutOfRangeException
                                       or NullReferenceException or KeyNotFoundException)
        {
            return Failed(Checker.CoreInvariant, $"{ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
        }
        catch (Exception ex) when (ex.GetType().Name == "RaftInvariantException")
        {
            return Failed(Checker.CoreInvariant, $"{ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
        }
    }

    private void RunStep()
    {
        if (Now == HealStartStep && Options.HealSteps > 0)
        {
            HealEverything();
        }
        else if (!InHealPhase)
        {
            InjectFaults();
        }

        RetireAndRestartDue();
        foreach (var node in _nodes)
        {
            if (node.IsAlive)
            {
                node.Tick();
            }
        }

        Network.DeliverDue(Now, Deliver);
        foreach (var client in _clients)
        {
            client.Act(Now, stopStarting: false);
        }

        foreach (var node in _nodes)
        {
            if (node.IsAlive)
            {
                node.ProcessReady(Now);
            }
        }

        CheckAfterStep();
        // A broken variant may lose a whole disk (and with it the configuration): only safety is judged.
        if (InHealPhase && Now == HealStartStep + Options.LivenessBoundTicks && Options.Broken == BrokenVariant.None)
        {
            CheckLiveness();
        }
    }

    private void Bootstrap()
    {
        var voters = Enumerable.Range(1, Options.Nodes).Select(i => (ulong)i).ToArray();
        var confState = new ConfState(voters, []);
        foreach (var id in voters)
        {
            var core = RaftNode.Bootstrap(Config(id), confState, new Random(_random.Next()));
            AddNode(new SimNode(this, id, core, PickTickRate()));
        }

        for (var i = 0; i < Options.Clients; i++)
        {
            _clients.Add(new SimClient(this, i + 1, new Random(_random.Next())));
        }
    }

    private void AddNode(SimNode node)
    {
        _nodes.Add(node);
        _byId[node.Id] = node;
    }

    internal RaftConfig Config(ulong id) => new()
    {
        Id = id,
        ElectionTicks = Options.ElectionTicks,
        HeartbeatTicks = 1,
        PreVote = true,
        CheckQuorum = true,
        Faults = new RaftFaults
        {
            CommitWithoutMajority = Options.Broken.HasFlag(BrokenVariant.CommitWithoutMajority),
            VoteTwiceInTerm = Options.Broken.HasFlag(BrokenVariant.VoteTwiceInTerm),
            SkipLogMatchCheck = Options.Broken.HasFlag(BrokenVariant.SkipLogMatchCheck),
        },
    };

    private double PickTickRate() =>
        Options.Faults.HasFlag(SimFaults.Skew) ? 0.7 + (_random.NextDouble() * 0.6) : 1.0;

    private bool Deliver(Message message)
    {
        if (!_byId.TryGetValue(message.To, out var to) || !to.IsAlive)
        {
            ReportLost(message);
            return false;
        }

        to.Step(message);
        if (message.Type == MessageType.InstallSnapshot && _byId.TryGetValue(message.From, out var from) && from.IsAlive)
        {
            from.Core.ReportSnapshotStatus(message.To, succeeded: true);
        }

        return true;
    }

    /// <summary>A transport would notice a dead peer or cut link: tell the sender, as etcd's does.</summary>
    private void ReportLost(Message message)
    {
        if (!_byId.TryGetValue(message.From, out var from) || !from.IsAlive)
        {
            return;
        }

        if (message.Type == MessageType.InstallSnapshot)
        {
            from.Core.ReportSnapshotStatus(message.To, succeeded: false);
        }

        from.Core.ReportUnreachable(message.To);
    }

    private void CheckAfterStep()
    {
        foreach (var node in _nodes)
        {
            if (node.IsAlive && node.Role == RaftRole.Leader)
            {
                var log = node.Disk.Written;
                Safety.CheckLeaderCompleteness(node.Id, node.Term, log.SnapshotIndex, log.PrefixAt);
            }
        }
    }

    private void CheckLiveness()
    {
        var live = _nodes.Where(n => n.IsAlive).ToList();
        var maxTerm = live.Count == 0 ? 0 : live.Max(n => n.Term);
        if (!live.Any(n => n.Role == RaftRole.Leader && n.Term == maxTerm))
        {
            throw new SafetyViolationException(
                Checker.Liveness,
                $"{Options.LivenessBoundTicks} ticks after healing there is no leader (live nodes: "
                + string.Join(", ", live.Select(n => $"{n.Id}:{n.Role}@{n.Term}")) + ")");
        }

        var deadline = HealStartStep + (Options.LivenessBoundTicks / 2);
        foreach (var client in _clients)
        {
            if (client.BusySinceStep is { } since && since < deadline)
            {
                throw new SafetyViolationException(
                    Checker.Liveness,
                    $"client {client.Id}'s operation started at step {since} is still unanswered {Options.LivenessBoundTicks} ticks after healing");
            }
        }
    }

    private SimResult Finish()
    {
        Stats.HighestTerm = Safety.HighestTerm;
        Stats.CommittedIndex = Safety.CommittedIndex;
        Stats.ClientOperationsCompleted = _history.Count(op => !op.IsPending);
        Stats.ClientOperationsPending = _history.Count(op => op.IsPending);
        Verdict? verdict = null;
        if (Options.CheckLinearizability)
        {
            var check = LinearizabilityChecker.Check(KvModel.Instance, _history, Options.LinearizabilityMaxSteps);
            verdict = check.Verdict;
            if (check.Verdict == Verdict.NotLinearizable)
            {
                return new SimResult(Options, Stats, Checker.Linearizability, check.Explain(), Now, verdict, _history.Count) { History = _history };
            }
        }

        return new SimResult(Options, Stats, null, null, Now, verdict, _history.Count) { History = _history };
    }

    internal void TraceEvent(string what) => Options.Trace?.WriteLine($"{Now,6} {what}");

    private SimResult Failed(Checker checker, string message)
    {
        Stats.HighestTerm = Safety.HighestTerm;
        Stats.CommittedIndex = Safety.CommittedIndex;
        return new SimResult(Options, Stats, checker, message, Now, null, _history.Count) { History = _history };
    }

    // ---- callbacks from nodes and clients ----

    internal long NextEventTime() => ++_eventClock;

    internal void RecordCompleted(int client, KvInput input, KvOutput output, long callTime)
    {
        _history.Add(Operation<KvInput, KvOutput>.Completed(client, input, output, callTime, NextEventTime()));
        _lastValueSeen[input.Key] = input.Kind switch
        {
            KvOpKind.Get => output.Value,
            KvOpKind.Put => input.Value,
            KvOpKind.Delete => null,
            _ => output.Succeeded ? input.Value : _lastValueSeen.GetValueOrDefault(input.Key),
        };
    }

    internal void RecordPending(int client, KvInput input, long callTime) =>
        _history.Add(Operation<KvInput, KvOutput>.Pending(client, input, callTime));

    internal string? LastValueSeen(string key) => _lastValueSeen.GetValueOrDefault(key);

    internal void OnCommandApplied(SimNode node, in KvCommand command, KvOutput output, long now)
    {
        if (command.ClientId >= 1 && command.ClientId <= _clients.Count)
        {
            _clients[command.ClientId - 1].OnApplied(node, command, output);
        }
    }

    internal void OnReadReady(SimNode node, ReadOnlySpan<byte> context, long now)
    {
        if (SimClient.TryParseReadContext(context, out var client, out var readId) && client >= 1 && client <= _clients.Count)
        {
            _clients[client - 1].OnReadReady(node, readId);
        }
    }

    /// <summary>A live member to send a client request to: the hinted leader if it is up, else any.</summary>
    internal SimNode? PickNode(ulong hint)
    {
        if (hint != 0 && _byId.TryGetValue(hint, out var hinted) && hinted.IsAlive && !IsJoining(hinted.Id))
        {
            return hinted;
        }

        var start = _random.Next(_nodes.Count);
        for (var i = 0; i < _nodes.Count; i++)
        {
            var node = _nodes[(start + i) % _nodes.Count];
            if (node.IsAlive && !IsJoining(node.Id))
            {
                return node;
            }
        }

        return null;
    }
}
