using System.Diagnostics;
using System.Globalization;
using Trireme.Raft.Core;

namespace Trireme.Raft.Bench;

/// <summary>
/// Entries committed per second by N Raft cores in one thread with an instant, lossless in-memory
/// network and no disk: the cost of the consensus logic itself (message building, log bookkeeping,
/// quorum computation, Ready hand-off). Each round the leader gets `batch` proposals, then every node's
/// Ready is processed and its messages delivered until the cluster is quiet; a tick every few rounds
/// keeps heartbeats realistic. Usage: trireme-raft-bench [seconds-per-case] (default 3).
/// </summary>
public static class Program
{
    private const int PayloadBytes = 128;

    public static int Main(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3.0;
        Console.WriteLine("| nodes | batch | entries committed/s | rounds/s | wall s |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var nodes in new[] { 3, 5 })
        {
            foreach (var batch in new[] { 1, 16, 128 })
            {
                Run(nodes, batch, TimeSpan.FromSeconds(seconds / 5)); // warm-up
                var (entries, rounds, wall) = Run(nodes, batch, TimeSpan.FromSeconds(seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {nodes} | {batch} | {entries / wall:N0} | {rounds / wall:N0} | {wall:F1} |"));
            }
        }

        return 0;
    }

    private static (long Entries, long Rounds, double Wall) Run(int nodeCount, int batch, TimeSpan duration)
    {
        var cluster = new Cluster(nodeCount);
        cluster.ElectFirstLeader();
        var payload = new byte[PayloadBytes];
        var startCommit = cluster.LeaderCommit;
        long rounds = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < batch; i++)
            {
                cluster.Leader.Propose(payload);
            }

            cluster.RunUntilQuiet();
            if (++rounds % 4 == 0)
            {
                cluster.TickAll();
            }

            if (rounds % 256 == 0)
            {
                // Keep the in-memory log bounded, as a host's snapshots would.
                cluster.CompactAll();
            }
        }

        clock.Stop();
        return ((long)(cluster.LeaderCommit - startCommit), rounds, clock.Elapsed.TotalSeconds);
    }

    private sealed class Cluster
    {
        private readonly RaftNode[] _nodes;
        private readonly Queue<Message> _network = new();
        private readonly ulong[] _applied;

        public Cluster(int count)
        {
            var voters = Enumerable.Range(1, count).Select(i => (ulong)i).ToArray();
            var conf = new ConfState(voters, []);
            _nodes = voters.Select(id => RaftNode.Bootstrap(new RaftConfig { Id = id }, conf, new Random((int)id))).ToArray();
            _applied = new ulong[count];
        }

        public RaftNode Leader => _nodes.First(n => n.Role == RaftRole.Leader);

        public ulong LeaderCommit => Leader.Status.Commit;

        public void ElectFirstLeader()
        {
            for (var tick = 0; tick < 1000 && !_nodes.Any(n => n.Role == RaftRole.Leader); tick++)
            {
                // Only node 1 ticks, so it campaigns first and wins without a split vote.
                _nodes[0].Tick();
                RunUntilQuiet();
            }
        }

        public void TickAll()
        {
            foreach (var node in _nodes)
            {
                node.Tick();
            }
        }

        public void CompactAll()
        {
            for (var i = 0; i < _nodes.Length; i++)
            {
                if (_applied[i] > 0)
                {
                    _nodes[i].Compact(_applied[i], ReadOnlyMemory<byte>.Empty);
                }
            }
        }

        public void RunUntilQuiet()
        {
            bool progressed;
            do
            {
                progressed = false;
                for (var i = 0; i < _nodes.Length; i++)
                {
                    var node = _nodes[i];
                    while (node.HasReady())
                    {
                        progressed = true;
                        var ready = node.TakeReady();
                        foreach (var message in ready.Messages)
                        {
                            _network.Enqueue(message);
                        }

                        if (ready.CommittedEntries.Count > 0)
                        {
                            _applied[i] = ready.CommittedEntries[^1].Index;
                        }

                        node.Advance(ready);
                    }
                }

                while (_network.TryDequeue(out var message))
                {
                    progressed = true;
                    _nodes[message.To - 1].Step(message);
                }
            }
            while (progressed);
        }
    }
}
