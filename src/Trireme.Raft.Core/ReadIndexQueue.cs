namespace Trireme.Raft.Core;

/// <summary>
/// ReadIndex requests waiting for a quorum to confirm the leader is still the leader (Raft §8,
/// etcd-io/raft's readOnly). Requests are answered in arrival order: a quorum acknowledging the heartbeat
/// sent for a later request also proves leadership for every earlier one. Bounded: beyond capacity new
/// requests are dropped and the client retries.
/// </summary>
internal sealed class ReadIndexQueue
{
    private readonly int _capacity;
    private readonly Dictionary<ReadOnlyMemory<byte>, Request> _byContext = new(ContextComparer.Instance);
    private readonly List<Request> _queue = [];

    public ReadIndexQueue(int capacity) => _capacity = capacity;

    public sealed class Request(ulong index, ulong from, ReadOnlyMemory<byte> context)
    {
        public ulong Index { get; } = index;
        public ulong From { get; } = from;
        public ReadOnlyMemory<byte> Context { get; } = context;
        public HashSet<ulong> Acks { get; } = [];
    }

    public int Count => _queue.Count;

    /// <summary>The context of the newest request: heartbeats carry it so acks confirm all requests so far.</summary>
    public ReadOnlyMemory<byte> LastContext => _queue.Count == 0 ? ReadOnlyMemory<byte>.Empty : _queue[^1].Context;

    /// <summary>Queues a request; false if full or a request with the same context is already waiting.</summary>
    public bool TryAdd(Request request)
    {
        if (_queue.Count >= _capacity || !_byContext.TryAdd(request.Context, request))
        {
            return false;
        }

        _queue.Add(request);
        return true;
    }

    /// <summary>Records an ack; returns the ack count for that request, or 0 if it is unknown.</summary>
    public int Ack(ulong from, ReadOnlyMemory<byte> context)
    {
        if (!_byContext.TryGetValue(context, out var request))
        {
            return 0;
        }

        request.Acks.Add(from);
        return request.Acks.Count;
    }

    /// <summary>Removes and returns every request up to and including the one with this context.</summary>
    public List<Request> ReleaseThrough(ReadOnlyMemory<byte> context)
    {
        var released = new List<Request>();
        if (!_byContext.ContainsKey(context))
        {
            return released;
        }

        var i = 0;
        for (; i < _queue.Count; i++)
        {
            var request = _queue[i];
            released.Add(request);
            _byContext.Remove(request.Context);
            if (ContextComparer.Instance.Equals(request.Context, context))
            {
                break;
            }
        }

        _queue.RemoveRange(0, Math.Min(i + 1, _queue.Count));
        return released;
    }

    public void Clear()
    {
        _queue.Clear();
        _byContext.Clear();
    }

    private sealed class ContextComparer : IEqualityComparer<ReadOnlyMemory<byte>>
    {
        public static readonly ContextComparer Instance = new();

        public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

        public int GetHashCode(ReadOnlyMemory<byte> obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj.Span);
            return hash.ToHashCode();
        }
    }
}
