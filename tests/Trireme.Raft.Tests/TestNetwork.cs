using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

/// <summary>
/// A tiny deterministic in-test cluster: a list of nodes, each with a fake durable storage, and one FIFO
/// message queue. It drives each node exactly as a host must (persist the Ready, then send its messages,
/// then apply, then Advance), lets tests cut links, crash and restart nodes, and filter messages.
/// It is test scaffolding, not the simulator (no random faults, no timing).
/// </summary>
internal sealed class TestNetwork
{
    private readonly Func<RaftConfig, RaftConfig> _configure;
    private readonly HashSet<(ulong From, ulong To)> _cutLinks = [];

    private TestNetwork(Func<RaftConfig, RaftConfig> configure) => _configure = configure;

    public SortedDictionary<ulong, TestPeer> Peers { get; } = [];
    public List<Message> Queue { get; } = [];
    public HashSet<ulong> Down { get; } = [];

    /// <summary>Messages that pass are delivered; returns false to drop one.</summary>
    public Func<Message, bool> Filter { get; set; } = _ => true;

    /// <summary>Every message ever delivered or dropped, for assertions about traffic.</summary>
    public List<Message> Sent { get; } = [];

    public static TestNetwork Create(int voters, Func<RaftConfig, RaftConfig>? configure = null, int seed = 1)
    {
        var network = new TestNetwork(configure ?? (c => c));
        var ids = Enumerable.Range(1, voters).Select(i => (ulong)i).ToArray();
        var conf = new ConfState(ids, []);
        foreach (var id in ids)
        {
            var node = RaftNode.Bootstrap(network.Config(id), conf, new Random(seed * 1000 + (int)id));
            network.Peers[id] = new TestPeer(id, node);
        }

        network.Stabilize();
        return network;
    }

    public RaftConfig Config(ulong id) => _configure(new RaftConfig { Id = id });

    public RaftNode this[ulong id] => Peers[id].Node;

    /// <summary>Starts a new joiner with empty persisted state (it learns the config from the leader).</summary>
    public TestPeer AddJoiner(ulong id)
    {
        var peer = new TestPeer(id, RaftNode.Restart(Config(id), RaftPersistedState.Empty, new Random((int)id)));
        Peers[id] = peer;
        return peer;
    }

    public void Cut(ulong a, ulong b)
    {
        _cutLinks.Add((a, b));
        _cutLinks.Add((b, a));
    }

    /// <summary>Separates the given nodes from all others (both directions).</summary>
    public void Isolate(params ulong[] group)
    {
        foreach (var a in group)
        {
            foreach (var b in Peers.Keys.Where(k => !group.Contains(k)))
            {
                Cut(a, b);
            }
        }
    }

    public void Heal() => _cutLinks.Clear();

    public void Crash(ulong id)
    {
        Down.Add(id);
        Queue.RemoveAll(m => m.To == id || m.From == id);
    }

    /// <summary>Restarts a crashed node from exactly what it had persisted.</summary>
    public void Restart(ulong id)
    {
        Down.Remove(id);
        var peer = Peers[id];
        peer.Node = RaftNode.Restart(Config(id), peer.Storage.ToPersistedState(), new Random((int)id + 7));
        peer.Applied.Clear();
        peer.AppliedSnapshot = peer.Storage.Snapshot;
    }

    /// <summary>Ticks one node until it starts an election and lets the cluster settle.</summary>
    public void Campaign(ulong id)
    {
        var node = this[id];
        var term = node.Term;
        var role = node.Role;
        for (var i = 0; i < 2 * Config(id).ElectionTicks + 1 && node.Role == role && node.Term == term; i++)
        {
            node.Tick();
        }

        Stabilize();
    }

    /// <summary>Elects the given node (expecting success) and returns it.</summary>
    public RaftNode Elect(ulong id)
    {
        Campaign(id);
        Assert.Equal(RaftRole.Leader, this[id].Role);
        return this[id];
    }

    public void TickAll(int ticks = 1)
    {
        for (var t = 0; t < ticks; t++)
        {
            foreach (var (id, peer) in Peers)
            {
                if (!Down.Contains(id))
                {
                    peer.Node.Tick();
                }
            }

            Stabilize();
        }
    }

    /// <summary>Processes Readys and delivers messages until nothing moves (bounded).</summary>
    public void Stabilize(int maxRounds = 10_000)
    {
        for (var round = 0; round < maxRounds; round++)
        {
            var progressed = DrainReadys();
            if (Queue.Count == 0 && !progressed)
            {
                return;
            }

            DeliverAll();
        }

        throw new InvalidOperationException("network did not settle");
    }

    public bool DrainReadys()
    {
        var any = false;
        foreach (var (id, peer) in Peers)
        {
            if (Down.Contains(id))
            {
                continue;
            }

            while (peer.Node.HasReady())
            {
                any = true;
                Queue.AddRange(peer.HandleReady());
            }
        }

        return any;
    }

    public void DeliverAll()
    {
        var batch = Queue.ToArray();
        Queue.Clear();
        foreach (var m in batch)
        {
            Deliver(m);
        }
    }

    private void Deliver(Message m)
    {
        Sent.Add(m);
        if (Down.Contains(m.To) || _cutLinks.Contains((m.From, m.To)) || !Peers.ContainsKey(m.To) || !Filter(m))
        {
            return;
        }

        Peers[m.To].Node.Step(m);
    }

    public RaftNode Leader()
    {
        var leaders = Peers.Where(p => !Down.Contains(p.Key) && p.Value.Node.Role == RaftRole.Leader)
            .Select(p => p.Value.Node).ToList();
        return Assert.Single(leaders);
    }

    /// <summary>Proposes on a node, settles, and returns the outcome.</summary>
    public ProposeResult Propose(ulong id, string data)
    {
        var result = this[id].Propose(System.Text.Encoding.UTF8.GetBytes(data));
        Stabilize();
        return result;
    }
}

/// <summary>One node plus what its host made durable and applied.</summary>
internal sealed class TestPeer(ulong id, RaftNode node)
{
    public ulong Id { get; } = id;
    public RaftNode Node { get; set; } = node;
    public FakeStorage Storage { get; } = new();
    public List<Entry> Applied { get; } = [];
    public List<ReadState> ReadStates { get; } = [];
    public Snapshot? AppliedSnapshot { get; set; }
    public List<Ready> Readys { get; } = [];

    /// <summary>Applied application commands (non-empty Normal entries) as strings.</summary>
    public List<string> Commands => Applied
        .Where(e => e.Type == EntryType.Normal && !e.Data.IsEmpty)
        .Select(e => System.Text.Encoding.UTF8.GetString(e.Data.Span)).ToList();

    /// <summary>Does what a host must do with one Ready and returns the messages to send.</summary>
    public IReadOnlyList<Message> HandleReady()
    {
        var ready = Node.TakeReady();
        Readys.Add(ready);
        Storage.Persist(ready);
        if (ready.Snapshot is not null)
        {
            AppliedSnapshot = ready.Snapshot;
            Applied.Clear();
        }

        foreach (var entry in ready.CommittedEntries)
        {
            Assert.True(entry.Index <= Storage.LastIndex, "applied an entry that is not durable");
            Applied.Add(entry);
        }

        ReadStates.AddRange(ready.ReadStates);
        Node.Advance(ready);
        return ready.Messages;
    }
}

/// <summary>What a host would have on disk: the last HardState, snapshot and log entries after it.</summary>
internal sealed class FakeStorage
{
    public HardState HardState { get; private set; }
    public Snapshot? Snapshot { get; private set; }
    public List<Entry> Entries { get; } = [];

    public ulong LastIndex => Entries.Count > 0 ? Entries[^1].Index : Snapshot?.Metadata.Index ?? 0;

    public void Persist(Ready ready)
    {
        if (ready.HardState is { } hs)
        {
            HardState = hs;
        }

        if (ready.Snapshot is not null)
        {
            Snapshot = ready.Snapshot;
            Entries.Clear();
        }

        foreach (var entry in ready.Entries)
        {
            Entries.RemoveAll(e => e.Index >= entry.Index);
            Entries.Add(entry);
        }
    }

    /// <summary>The host's own compaction: it keeps the snapshot and drops the entries it covers.</summary>
    public void Compact(Snapshot snapshot)
    {
        Snapshot = snapshot;
        Entries.RemoveAll(e => e.Index <= snapshot.Metadata.Index);
    }

    public RaftPersistedState ToPersistedState() => new(HardState, Snapshot, Entries.ToArray());
}
