using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// A quick seeded shake-out of the core inside its own test project (the real simulator, with its
// linearizability checker, lives elsewhere): random ticks, proposals, message loss, partitions, crashes
// with restarts from persisted state, and compactions. After every step it checks election safety (at
// most one leader per term) and state machine safety (no two nodes apply different entries at one
// index); at the end, after healing, that a leader is elected and every member converges. A second
// variant adds, promotes and removes members (joiners start empty) while the faults run.
// TRIREME_RAFT_SHAKE_SEEDS=<n> runs more seeds than the default 60.
public sealed class RandomizedSafetyTests
{
    public static TheoryData<int> Seeds()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("TRIREME_RAFT_SHAKE_SEEDS"), out var n) ? n : 60;
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Shake_random_faults_never_break_election_or_state_machine_safety(int seed)
    {
        var rng = new Random(seed);
        var size = rng.Next(0, 2) == 0 ? 3 : 5;
        var net = TestNetwork.Create(size, c => c with { MaxSizePerMessageBytes = 200, MaxInflightMessages = 4 }, seed);
        var checker = new SafetyChecker();
        var dropPercent = 0;
        net.Filter = _ => rng.Next(100) >= dropPercent;
        for (var step = 0; step < 400; step++)
        {
            RandomAction(net, rng, size, step, ref dropPercent);
            checker.Check(net);
        }

        // Heal everything and demand liveness and convergence.
        dropPercent = 0;
        net.Heal();
        foreach (var id in net.Down.ToArray())
        {
            net.Restart(id);
        }

        net.TickAll(80);
        checker.Check(net);
        var leader = net.Leader();
        Assert.Equal(ProposeOutcome.Accepted, net.Propose(leader.Id, "final").Outcome);
        net.TickAll(5);
        checker.Check(net);
        foreach (var peer in net.Peers.Values)
        {
            Assert.Equal(leader.Status.Commit, peer.Node.Status.Commit);
            Assert.Equal(leader.Status.Commit, peer.Node.Status.Applied);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Shake_membership_changes_under_faults_keep_safety_and_converge(int seed)
    {
        var rng = new Random(seed);
        const int MaxId = 6;
        var net = TestNetwork.Create(3, c => c with { MaxSizePerMessageBytes = 200, MaxInflightMessages = 4 }, seed);
        var checker = new SafetyChecker();
        var dropPercent = 0;
        net.Filter = _ => rng.Next(100) >= dropPercent;
        for (var step = 0; step < 400; step++)
        {
            if (rng.Next(100) < 8)
            {
                ChangeMembership(net, rng, MaxId);
            }
            else
            {
                RandomAction(net, rng, net.Peers.Count, step, ref dropPercent);
            }

            checker.Check(net);
        }

        dropPercent = 0;
        net.Heal();
        foreach (var id in net.Down.ToArray())
        {
            net.Restart(id);
        }

        net.TickAll(150);
        checker.Check(net);
        var leader = net.Leader();
        Assert.Equal(ProposeOutcome.Accepted, net.Propose(leader.Id, "final").Outcome);
        net.TickAll(5);
        checker.Check(net);
        var conf = leader.Status.ConfState;
        foreach (var id in conf.Voters.Concat(conf.Learners))
        {
            Assert.Equal(leader.Status.Commit, net[id].Status.Applied);
            Assert.Equal(conf, net[id].Status.ConfState);
        }
    }

    private static void ChangeMembership(TestNetwork net, Random rng, int maxId)
    {
        var leader = net.Peers.Values.Select(p => p.Node)
            .FirstOrDefault(n => n.Role == RaftRole.Leader && !net.Down.Contains(n.Id));
        if (leader is null)
        {
            return;
        }

        var conf = leader.Status.ConfState;
        var id = (ulong)rng.Next(1, maxId + 1);
        ConfChangeType type;
        if (conf.Learners.Contains(id))
        {
            type = ConfChangeType.PromoteLearner;
        }
        else if (conf.Voters.Contains(id))
        {
            if (conf.Voters.Count <= 2)
            {
                return;
            }

            type = ConfChangeType.RemoveNode;
        }
        else
        {
            if (net.Peers.ContainsKey(id))
            {
                return; // ids are not reused after removal
            }

            net.AddJoiner(id);
            type = ConfChangeType.AddLearner;
        }

        leader.ProposeConfChange(new ConfChange(type, id, default));
        net.Stabilize();
    }

    private static void RandomAction(TestNetwork net, Random rng, int size, int step, ref int dropPercent)
    {
        var id = net.Peers.Keys.ElementAt(rng.Next(net.Peers.Count));
        switch (rng.Next(100))
        {
            case < 50:
                net.TickAll();
                break;
            case < 75:
                if (!net.Down.Contains(id))
                {
                    net[id].Propose(System.Text.Encoding.UTF8.GetBytes($"s{step}"));
                    net.Stabilize();
                }

                break;
            case < 80:
                if (net.Down.Count < size / 2 + 1)
                {
                    net.Crash(id);
                }

                break;
            case < 85:
                if (net.Down.Contains(id))
                {
                    net.Restart(id);
                    net.Stabilize();
                }

                break;
            case < 89:
                net.Heal();
                net.Isolate(id);
                break;
            case < 93:
                net.Heal();
                break;
            case < 96:
                dropPercent = rng.Next(0, 40);
                break;
            default:
                Compact(net, id);
                break;
        }
    }

    private static void Compact(TestNetwork net, ulong id)
    {
        if (net.Down.Contains(id))
        {
            return;
        }

        var node = net[id];
        var status = node.Status;
        if (status.Applied < status.FirstIndex)
        {
            return;
        }

        node.Compact(status.Applied, System.Text.Encoding.UTF8.GetBytes($"image@{status.Applied}"));
        var term = node.Status.Term; // the host's own snapshot metadata is only used to restart
        var persistedTerm = net.Peers[id].Storage.Entries.FirstOrDefault(e => e.Index == status.Applied).Term;
        net.Peers[id].Storage.Compact(new Snapshot(
            new SnapshotMetadata(status.Applied, persistedTerm == 0 ? term : persistedTerm, status.ConfState),
            System.Text.Encoding.UTF8.GetBytes($"image@{status.Applied}")));
    }

    /// <summary>Election safety and state machine safety, checked across the whole run.</summary>
    private sealed class SafetyChecker
    {
        private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];
        private readonly Dictionary<ulong, Entry> _appliedAt = [];

        public void Check(TestNetwork net)
        {
            foreach (var (id, peer) in net.Peers)
            {
                var node = peer.Node;
                if (node.Role == RaftRole.Leader && !net.Down.Contains(id))
                {
                    if (_leaderOfTerm.TryGetValue(node.Term, out var other))
                    {
                        Assert.True(other == id, $"two leaders in term {node.Term}: {other} and {id}");
                    }

                    _leaderOfTerm[node.Term] = id;
                }

                foreach (var entry in peer.Applied)
                {
                    if (_appliedAt.TryGetValue(entry.Index, out var seen))
                    {
                        Assert.True(seen.Term == entry.Term && seen.Data.Span.SequenceEqual(entry.Data.Span),
                            $"node {id} applied a different entry at {entry.Index}");
                    }
                    else
                    {
                        _appliedAt[entry.Index] = entry;
                    }
                }
            }
        }
    }
}
