namespace Trireme.Balancer.Core;

/// <summary>
/// HAProxy's <c>stick on src</c> table: client address to server id, each entry expiring
/// <c>ExpireTicks</c> after its last use. It never holds more than <c>Size</c> entries: a new client
/// past that evicts the least recently used one (HAProxy drops the oldest too), so memory is bounded
/// by configuration, not by the number of clients that ever connected.
/// </summary>
public sealed class StickTable
{
    private readonly StickSettings _settings;
    private readonly Dictionary<UInt128, LinkedListNode<Entry>> _byClient;

    // Ordered by last use, oldest first: expiry and eviction both take from the front.
    private readonly LinkedList<Entry> _byLastUse = new();

    public StickTable(StickSettings settings)
    {
        if (settings.Size < 1 || settings.ExpireTicks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), "stick table size and expiry must be positive");
        }

        _settings = settings;
        _byClient = new Dictionary<UInt128, LinkedListNode<Entry>>(Math.Min(settings.Size, 1024));
    }

    public int Count => _byClient.Count;

    public int Size => _settings.Size;

    /// <summary>The server a client is stuck to, if its entry has not expired.</summary>
    public bool TryGet(UInt128 client, long nowTicks, out int serverId)
    {
        if (_byClient.TryGetValue(client, out var node) && node.Value.ExpiresAtTick > nowTicks)
        {
            serverId = node.Value.ServerId;
            return true;
        }

        serverId = -1;
        return false;
    }

    /// <summary>Sticks a client to a server (or refreshes it), evicting the oldest entry when full.</summary>
    public void Put(UInt128 client, int serverId, long nowTicks)
    {
        var entry = new Entry(client, serverId, nowTicks + _settings.ExpireTicks);
        if (_byClient.TryGetValue(client, out var node))
        {
            _byLastUse.Remove(node);
            node.Value = entry;
            _byLastUse.AddLast(node);
            return;
        }

        if (_byClient.Count >= _settings.Size)
        {
            var oldest = _byLastUse.First!;
            _byLastUse.RemoveFirst();
            _byClient.Remove(oldest.Value.Client);
        }

        _byClient[client] = _byLastUse.AddLast(entry);
    }

    /// <summary>Drops expired entries from the front, at most <paramref name="maxEntries"/> per call so
    /// one tick's work stays bounded.</summary>
    public int Expire(long nowTicks, int maxEntries)
    {
        var dropped = 0;
        while (dropped < maxEntries && _byLastUse.First is { } first && first.Value.ExpiresAtTick <= nowTicks)
        {
            _byLastUse.RemoveFirst();
            _byClient.Remove(first.Value.Client);
            dropped++;
        }

        return dropped;
    }

    private readonly record struct Entry(UInt128 Client, int ServerId, long ExpiresAtTick);
}
