namespace Trireme.Store.Core.Mvcc;

/// <summary>
/// The ordered key index (etcd keeps a B-tree of keyIndex). This is a two-level sorted structure, a
/// B-tree of height two: sorted leaves of at most <see cref="MaxLeafEntries"/> entries, found by
/// binary search over each leaf's first key. Lookup and the start of a range are two binary searches
/// (O(log n)); insert moves at most a leaf's worth of references plus, on a split, one leaf pointer
/// per <see cref="MaxLeafEntries"/>/2 keys, which at the sizes a store member holds (millions of
/// keys) stays far below the cost of the write itself. Ranges walk leaves in order: O(log n + output).
/// </summary>
internal sealed class KeyIndexTree
{
    /// <summary>Leaf capacity: large enough that the leaf directory stays small, small enough that
    /// moving references inside a leaf on insert is a few cache lines.</summary>
    internal const int MaxLeafEntries = 256;

    private readonly List<List<KeyIndex>> _leaves = [];

    /// <summary>The first key of each leaf (<c>_firstKeys[i]</c> is <c>_leaves[i][0].Key</c>): the leaf
    /// search compares against these directly instead of loading leaf, entry and key object in turn for
    /// every step, which at hundreds of thousands of keys was one cache miss per load on the put path.</summary>
    private readonly List<byte[]> _firstKeys = [];

    public int Count { get; private set; }

    public KeyIndex? Find(ReadOnlySpan<byte> key)
    {
        if (_leaves.Count == 0)
        {
            return null;
        }

        List<KeyIndex> leaf = _leaves[LeafFor(key)];
        int position = Search(leaf, key);
        return position >= 0 ? leaf[position] : null;
    }

    public KeyIndex GetOrAdd(byte[] key)
    {
        if (_leaves.Count == 0)
        {
            _leaves.Add([]);
            _firstKeys.Add(key);
        }

        int leafIndex = LeafFor(key);
        List<KeyIndex> leaf = _leaves[leafIndex];
        int position = Search(leaf, key);
        if (position >= 0)
        {
            return leaf[position];
        }

        var created = new KeyIndex(key);
        leaf.Insert(~position, created);
        if (~position == 0)
        {
            _firstKeys[leafIndex] = created.Key; // a new smallest key (only ever in the first leaf)
        }

        Count++;
        if (leaf.Count > MaxLeafEntries)
        {
            Split(leafIndex);
        }

        return created;
    }

    public void Remove(KeyIndex index)
    {
        if (_leaves.Count == 0)
        {
            return;
        }

        int leafIndex = LeafFor(index.Key);
        List<KeyIndex> leaf = _leaves[leafIndex];
        int position = Search(leaf, index.Key);
        if (position < 0)
        {
            return;
        }

        leaf.RemoveAt(position);
        Count--;
        if (leaf.Count == 0)
        {
            _leaves.RemoveAt(leafIndex);
            _firstKeys.RemoveAt(leafIndex);
        }
        else if (position == 0)
        {
            _firstKeys[leafIndex] = leaf[0].Key;
        }
    }

    /// <summary>Key indexes with key in the etcd range (key, rangeEnd), in key order.</summary>
    public IEnumerable<KeyIndex> Range(byte[] key, byte[] rangeEnd)
    {
        if (rangeEnd.Length == 0)
        {
            KeyIndex? single = Find(key);
            if (single is not null)
            {
                yield return single;
            }

            yield break;
        }

        bool toEnd = ByteKeys.IsFromKey(rangeEnd);
        if (!toEnd && rangeEnd.AsSpan().SequenceCompareTo(key) <= 0 || _leaves.Count == 0)
        {
            yield break;
        }

        int leafIndex = LeafFor(key);
        int position = Search(_leaves[leafIndex], key);
        if (position < 0)
        {
            position = ~position;
        }

        for (; leafIndex < _leaves.Count; leafIndex++, position = 0)
        {
            List<KeyIndex> leaf = _leaves[leafIndex];
            for (; position < leaf.Count; position++)
            {
                KeyIndex entry = leaf[position];
                if (!toEnd && entry.Key.AsSpan().SequenceCompareTo(rangeEnd) >= 0)
                {
                    yield break;
                }

                yield return entry;
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for each key index in the etcd range, in key order, until it returns
    /// false. The allocation-free form of <see cref="Range"/> for the hot read path.
    /// </summary>
    public void Visit<TState>(byte[] key, byte[] rangeEnd, ref TState state, VisitFunc<TState> visit)
    {
        if (rangeEnd.Length == 0)
        {
            if (Find(key) is { } single)
            {
                visit(single, ref state);
            }

            return;
        }

        bool toEnd = ByteKeys.IsFromKey(rangeEnd);
        if (!toEnd && rangeEnd.AsSpan().SequenceCompareTo(key) <= 0 || _leaves.Count == 0)
        {
            return;
        }

        int leafIndex = LeafFor(key);
        int position = Search(_leaves[leafIndex], key);
        if (position < 0)
        {
            position = ~position;
        }

        for (; leafIndex < _leaves.Count; leafIndex++, position = 0)
        {
            List<KeyIndex> leaf = _leaves[leafIndex];
            for (; position < leaf.Count; position++)
            {
                KeyIndex entry = leaf[position];
                if (!toEnd && entry.Key.AsSpan().SequenceCompareTo(rangeEnd) >= 0 || !visit(entry, ref state))
                {
                    return;
                }
            }
        }
    }

    public delegate bool VisitFunc<TState>(KeyIndex index, ref TState state);

    /// <summary>Every key index in key order (snapshot, compaction, hash).</summary>
    public IEnumerable<KeyIndex> All()
    {
        foreach (List<KeyIndex> leaf in _leaves)
        {
            foreach (KeyIndex entry in leaf)
            {
                yield return entry;
            }
        }
    }

    public void Clear()
    {
        _leaves.Clear();
        _firstKeys.Clear();
        Count = 0;
    }

    private void Split(int leafIndex)
    {
        List<KeyIndex> leaf = _leaves[leafIndex];
        int half = leaf.Count / 2;
        List<KeyIndex> upper = leaf.GetRange(half, leaf.Count - half);
        leaf.RemoveRange(half, leaf.Count - half);
        _leaves.Insert(leafIndex + 1, upper);
        _firstKeys.Insert(leafIndex + 1, upper[0].Key);
    }

    /// <summary>The last leaf whose first key is ≤ key (or the first leaf).</summary>
    private int LeafFor(ReadOnlySpan<byte> key)
    {
        int low = 0;
        int high = _firstKeys.Count - 1;
        while (low < high)
        {
            int middle = (low + high + 1) >>> 1;
            if (_firstKeys[middle].AsSpan().SequenceCompareTo(key) <= 0)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    private static int Search(List<KeyIndex> leaf, ReadOnlySpan<byte> key)
    {
        int low = 0;
        int high = leaf.Count - 1;
        while (low <= high)
        {
            int middle = (low + high) >>> 1;
            int order = leaf[middle].Key.AsSpan().SequenceCompareTo(key);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }
}
