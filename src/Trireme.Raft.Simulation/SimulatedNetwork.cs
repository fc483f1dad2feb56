using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// Messages in flight between simulated nodes. Each message gets its own latency, so reordering is the
/// normal case; drop and duplicate happen at send time with the current rates; a partition is a set of
/// cut directed links checked at delivery, so cutting a link also loses what was in flight on it.
/// </summary>
internal sealed class SimulatedNetwork
{
    /// <summary>Messages in flight on one directed link before further sends on it are dropped, as the
    /// host transport's bounded per-peer queue does. Far above what flow control lets a correct core put
    /// on a link (so correct runs never reach it and replay as before), it stops a broken variant's
    /// duplicate-amplified rejection storm from growing the network without bound.</summary>
    public const int MaxInFlightPerLink = 1024;

    private readonly Dictionary<(ulong From, ulong To), int> _perLink = [];
    private readonly PriorityQueue<Message, (long DeliverAt, long Sequence)> _inFlight = new();
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private readonly Random _random;
    private readonly SimStats _stats;
    private long _sequence;

    public SimulatedNetwork(Random random, SimStats stats)
    {
        _random = random;
        _stats = stats;
    }

    /// <summary>Probability a message is lost, 0..1.</summary>
    public double DropRate { get; set; }

    public double DuplicateRate { get; set; }

    /// <summary>Probability a message takes a long detour of up to <see cref="MaxExtraDelaySteps"/>.</summary>
    public double DelayRate { get; set; }

    public int MaxExtraDelaySteps { get; set; } = 12;

    public int InFlight => _inFlight.Count;

    public bool IsPartitioned => _cut.Count > 0;

    public void Send(Message message, long now)
    {
        if (LinkLoad(message) >= MaxInFlightPerLink)
        {
            _stats.Count(FaultKind.LinkQueueFull);
            return;
        }

        if (DropRate > 0 && _random.NextDouble() < DropRate)
        {
            _stats.Count(FaultKind.MessageDropped);
            return;
        }

        Enqueue(message, now);
        if (DuplicateRate > 0 && _random.NextDouble() < DuplicateRate)
        {
            _stats.Count(FaultKind.MessageDuplicated);
            Enqueue(message, now);
        }
    }

    /// <summary>Delivers (through <paramref name="deliver"/>) everything due by <paramref name="now"/>;
    /// messages over a cut link are lost.</summary>
    public void DeliverDue(long now, Func<Message, bool> deliver)
    {
        while (_inFlight.TryPeek(out var message, out var due) && due.DeliverAt <= now)
        {
            _inFlight.Dequeue();
            ReleaseLink(message);
            if (_cut.Contains((message.From, message.To)))
            {
                _stats.Count(FaultKind.MessageLostToPartition);
                continue;
            }

            if (deliver(message))
            {
                _stats.MessagesDelivered++;
            }
        }
    }

    public void Cut(ulong from, ulong to) => _cut.Add((from, to));

    public bool IsCut(ulong from, ulong to) => _cut.Contains((from, to));

    public void Heal() => _cut.Clear();

    public void ClearRates()
    {
        DropRate = 0;
        DuplicateRate = 0;
        DelayRate = 0;
    }

    private void Enqueue(Message message, long now)
    {
        // One or two steps is the normal round trip half; a detour reorders it past later messages.
        long latency = 1 + _random.Next(2);
        if (DelayRate > 0 && _random.NextDouble() < DelayRate)
        {
            latency += 1 + _random.Next(MaxExtraDelaySteps);
            _stats.Count(FaultKind.MessageDelayed);
        }

        _inFlight.Enqueue(message, (now + latency, _sequence++));
        _perLink[(message.From, message.To)] = LinkLoad(message) + 1;
        _stats.MessagesSent++;
    }

    private int LinkLoad(Message message) => _perLink.GetValueOrDefault((message.From, message.To));

    private void ReleaseLink(Message message)
    {
        var link = (message.From, message.To);
        var load = _perLink[link] - 1;
        if (load == 0)
        {
            _perLink.Remove(link);
        }
        else
        {
            _perLink[link] = load;
        }
    }
}
