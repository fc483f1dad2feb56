namespace Trireme.Store.Core.Mvcc;

/// <summary>
/// etcd's mvcc store without the disk: a key index (<see cref="KeyIndexTree"/>) over a
/// revision-ordered history (<see cref="History"/>, etcd's "key" bucket). Writes happen inside a
/// write transaction (<see cref="BeginWrite"/> … <see cref="EndWrite"/>): all of them share one main
/// revision, each gets the next sub revision, and reads inside the transaction see them (as etcd's
/// storeTxnWrite does). Single-threaded: the state machine owns it.
/// </summary>
internal sealed class MvccStore
{
    /// <summary>Accounted per-record overhead on top of the record's key and value bytes: bbolt's leaf
    /// element header (16 bytes) plus page-fill slack, rounded. See docs/store.md, quota.</summary>
    public const int RecordOverheadBytes = 64;

    private readonly KeyIndexTree _index = new();
    private readonly List<KeyValue> _history = [];
    private readonly List<WatchEvent> _pendingEvents = [];
    private bool _writing;

    /// <summary>The last committed main revision. A fresh store is at 1, as etcd: the first write is 2.</summary>
    public long CurrentRevision { get; private set; } = 1;

    /// <summary>The last compaction's revision, -1 before the first (etcd's compactMainRev).</summary>
    public long CompactRevision { get; private set; } = -1;

    /// <summary>Approximate backend size: Σ over history records of (revision key + encoded KeyValue + overhead).</summary>
    public long AccountedBytes { get; private set; }

    public int KeyCount => _index.Count;

    internal IReadOnlyList<KeyValue> History => _history;

    /// <summary>Revision reads see: inside a write that already wrote, the revision being written.</summary>
    public long ReadRevision => _writing && _pendingEvents.Count > 0 ? CurrentRevision + 1 : CurrentRevision;

    /// <summary>Validation etcd does before a read at <paramref name="revision"/> (≤ 0 = current).</summary>
    public StoreError? CheckReadRevision(long revision)
    {
        if (revision > ReadRevision)
        {
            return StoreError.FutureRevision;
        }

        return revision > 0 && revision < CompactRevision ? StoreError.Compacted : null;
    }

    /// <summary>
    /// Keys live at <paramref name="atRevision"/> in the etcd range; <paramref name="limit"/> 0 = all.
    /// Count is every live key in the range (etcd's RangeResult.Count), whatever the limit.
    /// </summary>
    public (List<KeyValue> Kvs, long Count) Range(byte[] key, byte[] rangeEnd, long atRevision, long limit, bool countOnly)
    {
        long revision = atRevision <= 0 ? ReadRevision : atRevision;
        var state = new RangeState
        {
            Kvs = [],
            Revision = revision,
            // At the read revision a key's live version is simply its latest record: no generation search.
            Latest = revision >= ReadRevision,
            Limit = countOnly ? 0 : limit <= 0 ? long.MaxValue : limit,
        };
        _index.Visit(key, rangeEnd, ref state, VisitRange);
        return (state.Kvs, state.Count);
    }

    private static bool VisitRange(KeyIndex index, ref RangeState state)
    {
        KeyValue? record = state.Latest ? index.Current : index.Get(state.Revision);
        if (record is not null)
        {
            state.Count++;
            if (state.Kvs.Count < state.Limit)
            {
                state.Kvs.Add(record);
            }
        }

        return true;
    }

    private struct RangeState
    {
        public List<KeyValue> Kvs;
        public long Revision;
        public bool Latest;
        public long Limit;
        public long Count;
    }

    public KeyValue? Get(ReadOnlySpan<byte> key) => _index.Find(key)?.Current;

    /// <summary>The version of <paramref name="key"/> live at <paramref name="atRevision"/>, if history still has it.</summary>
    public KeyValue? GetAt(ReadOnlySpan<byte> key, long atRevision)
    {
        if (atRevision < CompactRevision || atRevision <= 0)
        {
            return null;
        }

        return _index.Find(key)?.Get(atRevision);
    }

    /// <summary>Records of one key with main revision ≥ <paramref name="fromMain"/>, in revision order.</summary>
    public IEnumerable<KeyValue> KeyHistory(ReadOnlySpan<byte> key, long fromMain)
    {
        KeyIndex? index = _index.Find(key);
        return index is null ? [] : Walk(index, fromMain);

        static IEnumerable<KeyValue> Walk(KeyIndex index, long fromMain)
        {
            foreach (KeyIndex.Generation generation in index.Generations)
            {
                foreach (KeyValue record in generation.Revisions)
                {
                    if (record.Revision.Main >= fromMain)
                    {
                        yield return record;
                    }
                }
            }
        }
    }

    public void BeginWrite()
    {
        if (_writing)
        {
            throw new InvalidOperationException("write transactions do not nest");
        }

        _writing = true;
        _pendingEvents.Clear();
    }

    /// <summary>Writes a new version; returns it and the version it replaced (null if none).</summary>
    public (KeyValue Kv, KeyValue? Previous) Put(byte[] key, ReadOnlyMemory<byte> value, long lease)
    {
        RequireWriting();
        var revision = new Revision(CurrentRevision + 1, _pendingEvents.Count);
        KeyIndex index = _index.GetOrAdd(key);
        KeyValue? previous = index.Current;
        (long version, long createRevision) = index.NextPut(revision);
        var kv = new KeyValue(index.Key, revision, createRevision, version, value, lease, tombstone: false);
        index.Put(kv);
        Append(kv);
        _pendingEvents.Add(new WatchEvent(WatchEventType.Put, kv, previous));
        return (kv, previous);
    }

    /// <summary>Deletes the keys live in the range; returns their last versions in key order.</summary>
    public List<KeyValue> DeleteRange(byte[] key, byte[] rangeEnd)
    {
        RequireWriting();
        var victims = new List<KeyIndex>();
        foreach (KeyIndex index in _index.Range(key, rangeEnd))
        {
            if (index.Current is not null)
            {
                victims.Add(index);
            }
        }

        var deleted = new List<KeyValue>(victims.Count);
        foreach (KeyIndex index in victims)
        {
            KeyValue previous = index.Current!;
            var revision = new Revision(CurrentRevision + 1, _pendingEvents.Count);
            var tombstone = KeyValue.TombstoneAt(index.Key, revision);
            index.Tombstone(tombstone);
            Append(tombstone);
            _pendingEvents.Add(new WatchEvent(WatchEventType.Delete, tombstone, previous));
            deleted.Add(previous);
        }

        return deleted;
    }

    /// <summary>Commits the write: one new main revision if anything was written. Returns its events.</summary>
    public IReadOnlyList<WatchEvent> EndWrite()
    {
        RequireWriting();
        _writing = false;
        if (_pendingEvents.Count == 0)
        {
            return [];
        }

        CurrentRevision++;
        WatchEvent[] events = [.. _pendingEvents];
        _pendingEvents.Clear();
        return events;
    }

    /// <summary>Validation etcd does for Compact(rev).</summary>
    public StoreError? CheckCompact(long revision)
    {
        if (revision <= CompactRevision)
        {
            return StoreError.Compacted;
        }

        return revision > CurrentRevision ? StoreError.FutureRevision : null;
    }

    /// <summary>
    /// Physically removes every record superseded at <paramref name="revision"/>: what remains below it
    /// is, per live key, the version in effect at <paramref name="revision"/>. Reads and watches below
    /// it answer "compacted" from now on.
    /// </summary>
    public void Compact(long revision)
    {
        if (CheckCompact(revision) is { } error)
        {
            throw new InvalidOperationException(error.Message);
        }

        CompactRevision = revision;
        var keep = new HashSet<KeyValue>(ReferenceEqualityComparer.Instance);
        var emptied = new List<KeyIndex>();
        foreach (KeyIndex index in _index.All())
        {
            index.Compact(revision, keep);
            if (index.IsEmpty)
            {
                emptied.Add(index);
            }
        }

        foreach (KeyIndex index in emptied)
        {
            _index.Remove(index);
        }

        int cut = FirstHistoryIndexAfter(revision);
        var survivors = new List<KeyValue>(_history.Count - cut + keep.Count);
        for (int i = 0; i < cut; i++)
        {
            if (keep.Contains(_history[i]))
            {
                survivors.Add(_history[i]);
            }
            else
            {
                AccountedBytes -= Cost(_history[i]);
            }
        }

        survivors.AddRange(_history.Skip(cut));
        _history.Clear();
        _history.AddRange(survivors);
    }

    /// <summary>etcd's HashByRev over the history up to <paramref name="revision"/> (≤ 0 = current).</summary>
    public (KvHash Hash, StoreError? Error) Hash(long revision)
    {
        if (revision > 0 && revision <= CompactRevision)
        {
            return (new KvHash(0, CompactRevision, 0), StoreError.Compacted);
        }

        if (revision > CurrentRevision)
        {
            return (new KvHash(0, 0, CurrentRevision), StoreError.FutureRevision);
        }

        long upTo = revision <= 0 ? CurrentRevision : revision;
        var keep = new HashSet<KeyValue>(ReferenceEqualityComparer.Instance);
        foreach (KeyIndex index in _index.All())
        {
            index.Keep(upTo, keep);
        }

        uint state = Crc32C.Append(Crc32C.Initial, "key"u8);
        byte[] buffer = new byte[256];
        foreach (KeyValue record in _history)
        {
            if (record.Revision.Main > upTo)
            {
                break;
            }

            if (record.Revision.Main <= CompactRevision && keep.Count > 0 && !keep.Contains(record))
            {
                continue;
            }

            int needed = Revision.EncodedBytes + 1 + KeyValueProto.Size(record);
            if (buffer.Length < needed)
            {
                buffer = new byte[Math.Max(needed, buffer.Length * 2)];
            }

            record.Revision.WriteTo(buffer);
            int keyLength = Revision.EncodedBytes;
            if (record.IsTombstone)
            {
                buffer[keyLength++] = (byte)'t';
            }

            state = Crc32C.Append(state, buffer.AsSpan(0, keyLength));
            int valueLength = KeyValueProto.Write(record, buffer);
            state = Crc32C.Append(state, buffer.AsSpan(0, valueLength));
        }

        return (new KvHash(Crc32C.Finish(state), CompactRevision, CurrentRevision), null);
    }

    /// <summary>Index in <see cref="History"/> of the first record with main revision ≥ <paramref name="main"/>.</summary>
    public int FirstHistoryIndexAtOrAfter(long main)
    {
        int low = 0;
        int high = _history.Count;
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            if (_history[middle].Revision.Main < main)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private int FirstHistoryIndexAfter(long main) => FirstHistoryIndexAtOrAfter(main + 1);

    /// <summary>Rebuilds from history records in revision order (snapshot restore, etcd's restore).</summary>
    public void Restore(IEnumerable<KeyValue> records, long currentRevision, long compactRevision)
    {
        _index.Clear();
        _history.Clear();
        AccountedBytes = 0;
        foreach (KeyValue record in records)
        {
            if (_history.Count > 0 && record.Revision <= _history[^1].Revision)
            {
                throw new InvalidOperationException("snapshot history is not in revision order");
            }

            KeyIndex? index = _index.Find(record.Key);
            if (index is null)
            {
                if (record.IsTombstone)
                {
                    // Compaction never keeps a tombstone without the put before it; nothing to restore.
                    Append(record);
                    continue;
                }

                index = _index.GetOrAdd(record.Key);
                index.Restore(record);
            }
            else if (record.IsTombstone)
            {
                index.Tombstone(record);
            }
            else
            {
                index.Put(record);
            }

            Append(record);
        }

        CurrentRevision = currentRevision;
        CompactRevision = compactRevision;
    }

    /// <summary>What one history record adds to <see cref="AccountedBytes"/>.</summary>
    public static long Cost(KeyValue record) =>
        Revision.EncodedBytes + (record.IsTombstone ? 1 : 0) + KeyValueProto.Size(record) +
        RecordOverheadBytes;

    private void Append(KeyValue record)
    {
        _history.Add(record);
        AccountedBytes += Cost(record);
    }

    private void RequireWriting()
    {
        if (!_writing)
        {
            throw new InvalidOperationException("write outside a write transaction");
        }
    }
}
