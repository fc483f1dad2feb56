namespace Trireme.Raft.Core;

/// <summary>
/// The Append messages sent to one follower and not yet acknowledged, as a ring of (last index, bytes).
/// Full when either bound is reached; then the leader pauses that follower (flow control). An ack for
/// index i frees every message ending at or before i.
/// </summary>
internal sealed class Inflights
{
    private readonly int _capacity;
    private readonly long _maxBytes;
    private ulong[] _indexes = [];
    private long[] _sizes = [];
    private int _start;

    public Inflights(int capacity, long maxBytes)
    {
        _capacity = capacity;
        _maxBytes = maxBytes;
    }

    public int Count { get; private set; }
    public long Bytes { get; private set; }

    public bool Full => Count >= _capacity || Bytes >= _maxBytes;

    public void Add(ulong lastIndex, long bytes)
    {
        Invariants.Check(Count < _capacity, "in-flight window overflow");
        EnsureRoom();
        var slot = (_start + Count) % _indexes.Length;
        _indexes[slot] = lastIndex;
        _sizes[slot] = bytes;
        Count++;
        Bytes += bytes;
    }

    /// <summary>Frees every in-flight message whose last index is &lt;= index.</summary>
    public void FreeLE(ulong index)
    {
        while (Count > 0 && _indexes[_start] <= index)
        {
            Bytes -= _sizes[_start];
            _start = (_start + 1) % _indexes.Length;
            Count--;
        }

        if (Count == 0)
        {
            _start = 0;
        }
    }

    /// <summary>Frees the oldest message: a heartbeat response proves the follower is alive, so let one more through.</summary>
    public void FreeFirstOne()
    {
        if (Count > 0)
        {
            FreeLE(_indexes[_start]);
        }
    }

    public void Reset()
    {
        Count = 0;
        Bytes = 0;
        _start = 0;
    }

    // Grows the ring lazily (up to capacity) so idle followers cost little memory.
    private void EnsureRoom()
    {
        if (Count < _indexes.Length)
        {
            return;
        }

        var size = Math.Min(_capacity, Math.Max(4, _indexes.Length * 2));
        var indexes = new ulong[size];
        var sizes = new long[size];
        for (var i = 0; i < Count; i++)
        {
            indexes[i] = _indexes[(_start + i) % _indexes.Length];
            sizes[i] = _sizes[(_start + i) % _indexes.Length];
        }

        _indexes = indexes;
        _sizes = sizes;
        _start = 0;
    }
}
