using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// The fault schedule. Rates are per step and chosen so a few-thousand-step run sees every enabled
/// kind several times, with quiet spells in between so the cluster also makes progress.
/// Only faults Raft claims to survive are injected (TigerBeetle's rule): message loss, delay,
/// duplication, reordering, partitions, crashes that lose unsynced writes, clock-rate skew, and
/// membership changes — never disk corruption or Byzantine messages.
/// </summary>
public sealed partial class Simulator
{
    private const int WeatherSpellSteps = 300;
    private const double PartitionStartPerStep = 1.0 / 200;
    private const double PartitionHealPerStep = 1.0 / 60;
    private const double MembershipPerStep = 1.0 / 120;
    private const double TransferPerStep = 1.0 / 400;
    private const double SkewChangePerStep = 1.0 / 500;

    /// <summary>A joiner whose AddLearner never commits is shut down after this long.</summary>
    private const int JoinDeadlineSteps = 400;

    private readonly Dictionary<ulong, long> _joining = [];
    private readonly Dictionary<ulong, long> _retireAt = [];
    private ulong _nextNodeId;

    private void InjectFaults()
    {
        var faults = Options.Faults;
        if (Now % WeatherSpellSteps == 0)
        {
            ChangeWeather(faults);
        }

        if (faults.HasFlag(SimFaults.Partition))
        {
            if (!Network.IsPartitioned && _random.NextDouble() < PartitionStartPerStep)
            {
                Partition();
            }
            else if (Network.IsPartitioned && _random.NextDouble() < PartitionHealPerStep)
            {
                Network.Heal();
                TraceEvent("heal");
                Stats.Count(FaultKind.Heal);
            }
        }

        if (faults.HasFlag(SimFaults.Crash) && _random.NextDouble() < 1.0 / Options.MeanStepsBetweenCrashes)
        {
            CrashOne();
        }

        if (faults.HasFlag(SimFaults.Skew) && _random.NextDouble() < SkewChangePerStep)
        {
            var node = _nodes[_random.Next(_nodes.Count)];
            node.TickRate = PickTickRate();
            Stats.Count(FaultKind.TickSkew);
        }

        if (faults.HasFlag(SimFaults.Membership) && _random.NextDouble() < MembershipPerStep)
        {
            ChangeMembership();
        }

        if (faults.HasFlag(SimFaults.Transfer) && _random.NextDouble() < TransferPerStep)
        {
            TransferLeadership();
        }
    }

    private void ChangeWeather(SimFaults faults)
    {
        double[] drops = [0, 0.02, 0.1, 0.3];
        double[] duplicates = [0, 0.05, 0.15];
        double[] delays = [0, 0.1, 0.3];
        Network.DropRate = faults.HasFlag(SimFaults.Drop) ? drops[_random.Next(drops.Length)] : 0;
        Network.DuplicateRate = faults.HasFlag(SimFaults.Duplicate) ? duplicates[_random.Next(duplicates.Length)] : 0;
        Network.DelayRate = faults.HasFlag(SimFaults.Delay) ? delays[_random.Next(delays.Length)] : 0;
    }

    private void Partition()
    {
        var members = _nodes.Where(n => !n.IsRetired).Select(n => n.Id).ToList();
        if (members.Count < 2)
        {
            return;
        }

        if (_random.Next(100) < 60)
        {
            // Symmetric: split into two sides that cannot talk at all.
            var sideA = members.Where(_ => _random.Next(2) == 0).ToHashSet();
            if (sideA.Count == 0 || sideA.Count == members.Count)
            {
                sideA = [members[_random.Next(members.Count)]];
            }

            foreach (var a in sideA)
            {
                foreach (var b in members.Where(m => !sideA.Contains(m)))
                {
                    Network.Cut(a, b);
                    Network.Cut(b, a);
                }
            }

            Stats.Count(FaultKind.SymmetricPartition);
            TraceEvent($"partition: {{{string.Join(",", sideA)}}} | {{{string.Join(",", members.Where(m => !sideA.Contains(m)))}}}");
        }
        else
        {
            // Asymmetric: one node's messages to some peers are lost, but it still hears them (or the
            // reverse) — the case that tempts a node into disrupting elections.
            var node = members[_random.Next(members.Count)];
            var outbound = _random.Next(2) == 0;
            foreach (var peer in members.Where(m => m != node && _random.Next(3) != 0))
            {
                if (outbound)
                {
                    Network.Cut(node, peer);
                }
                else
                {
                    Network.Cut(peer, node);
                }
            }

            Stats.Count(FaultKind.AsymmetricPartition);
            TraceEvent($"asymmetric partition around node {node} ({(outbound ? "outbound" : "inbound")})");
        }
    }

    private void CrashOne()
    {
        var candidates = _nodes.Where(n => n.IsAlive).ToList();
        var down = _nodes.Count(n => !n.IsAlive && !n.IsRetired);
        // Up to a majority may be down at once: safety must hold then too; only progress stops.
        if (candidates.Count == 0 || down >= (Options.Nodes / 2) + 1)
        {
            return;
        }

        var victim = candidates[_random.Next(candidates.Count)];
        victim.Crash(_random);
        // Some reboots are quick (the node is back within the same election), most take a while.
        victim.RestartAt = Now + (_random.Next(10) < 3 ? 1 + _random.Next(4) : 5 + _random.Next(150));
        Stats.Count(FaultKind.Crash);
    }

    private void RetireAndRestartDue()
    {
        foreach (var (id, at) in _retireAt.ToList())
        {
            if (at <= Now)
            {
                _retireAt.Remove(id);
                _byId[id].Retire();
                TraceEvent($"node {id} retired (removed)");
            }
        }

        foreach (var (id, deadline) in _joining.ToList())
        {
            if (deadline <= Now)
            {
                _joining.Remove(id);
                _byId[id].Retire();
                TraceEvent($"node {id} retired (join never committed)");
            }
        }

        foreach (var node in _nodes)
        {
            if (!node.IsAlive && !node.IsRetired && (node.RestartAt <= Now || InHealPhase))
            {
                Restart(node);
            }
        }
    }

    private void Restart(SimNode node)
    {
        node.TickRate = PickTickRate();
        node.Restart(Config(node.Id), new Random(_random.Next()), Options.Broken.HasFlag(BrokenVariant.ForgetVoteOnRestart));
        Stats.Count(FaultKind.Restart);
    }

    private void HealEverything()
    {
        InHealPhase = true;
        Network.Heal();
        Network.ClearRates();
        Stats.Count(FaultKind.Heal);
    }

    private SimNode? CurrentLeader()
    {
        SimNode? best = null;
        foreach (var node in _nodes)
        {
            if (node.IsAlive && node.Role == RaftRole.Leader && (best is null || node.Term > best.Term))
            {
                best = node;
            }
        }

        return best;
    }

    private void ChangeMembership()
    {
        if (CurrentLeader() is not { } leader)
        {
            return;
        }

        var status = leader.Core.Status;
        var conf = status.ConfState;
        if (conf.Learners.Count > 0)
        {
            var learner = conf.Learners[0];
            if (status.Progress.TryGetValue(learner, out var progress) && progress.Match + 8 >= status.Commit)
            {
                Propose(leader, new ConfChange(ConfChangeType.PromoteLearner, learner, default), FaultKind.PromoteLearner);
            }

            return;
        }

        var maxMembers = Math.Min(7, Options.Nodes + 1);
        if (conf.Voters.Count > Math.Max(3, Options.Nodes - 1) || (conf.Voters.Count >= maxMembers && conf.Voters.Count > 1))
        {
            // Mostly followers, sometimes the leader itself.
            var victims = conf.Voters.Where(v => v != leader.Id || _random.Next(5) == 0).ToList();
            if (victims.Count > 0)
            {
                var victim = victims[_random.Next(victims.Count)];
                Propose(leader, new ConfChange(ConfChangeType.RemoveNode, victim, default), FaultKind.RemoveNode);
            }

            return;
        }

        if (_joining.Count == 0 && conf.Voters.Count < maxMembers)
        {
            AddLearner(leader);
        }
    }

    private void AddLearner(SimNode leader)
    {
        if (_nextNodeId == 0)
        {
            _nextNodeId = (ulong)Options.Nodes + 1;
        }

        var id = _nextNodeId;
        // A joiner starts empty and learns the configuration from the leader (contract: Restart with
        // empty persisted state).
        var joiner = new SimNode(this, id, RaftNode.Restart(Config(id), RaftPersistedState.Empty, new Random(_random.Next())), PickTickRate());
        var result = leader.Core.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, id, default));
        if (result.Outcome != ProposeOutcome.Accepted)
        {
            return;
        }

        _nextNodeId++;
        AddNode(joiner);
        _joining[id] = Now + JoinDeadlineSteps;
        Stats.Count(FaultKind.AddLearner);
        TraceEvent($"leader {leader.Id} proposes AddLearner {id}");
    }

    private void Propose(SimNode leader, ConfChange change, FaultKind kind)
    {
        if (leader.Core.ProposeConfChange(change).Outcome == ProposeOutcome.Accepted)
        {
            Stats.Count(kind);
            TraceEvent($"leader {leader.Id} proposes {change.Type} {change.NodeId}");
        }
    }

    private void TransferLeadership()
    {
        if (CurrentLeader() is not { } leader)
        {
            return;
        }

        var voters = leader.Core.Status.ConfState.Voters.Where(v => v != leader.Id && _byId.TryGetValue(v, out var n) && n.IsAlive).ToList();
        if (voters.Count == 0)
        {
            return;
        }

        var target = voters[_random.Next(voters.Count)];
        leader.Core.TransferLeadership(target);
        TraceEvent($"leader {leader.Id} transfers leadership to {target}");
        Stats.Count(FaultKind.LeadershipTransfer);
    }

    internal bool IsJoining(ulong id) => _joining.ContainsKey(id);

    internal void OnConfChangeApplied(SimNode node, ConfChange change, long now)
    {
        switch (change.Type)
        {
            case ConfChangeType.AddLearner:
            case ConfChangeType.AddVoter:
                _joining.Remove(change.NodeId);
                break;
            case ConfChangeType.RemoveNode:
                // Give the removal time to reach the others before the removed member is switched off,
                // as an operator would.
                if (_byId.TryGetValue(change.NodeId, out var removed) && !removed.IsRetired && !_retireAt.ContainsKey(change.NodeId))
                {
                    _retireAt[change.NodeId] = now + (2 * Options.ElectionTicks);
                }

                break;
        }
    }
}
