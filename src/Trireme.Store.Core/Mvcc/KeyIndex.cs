namespace Trireme.Store.Core.Mvcc;

/// <summary>
/// The revisions of one key, grouped in generations as etcd's keyIndex: a generation runs from the
/// put that creates the key to the delete (tombstone) that ends it; the last generation is the
/// current one and is empty while the key does not exist. Version restarts at 1 in every generation.
/// </summary>
internal sealed class KeyIndex
{
    private readonly List<Generation> _generations = [new Generation()];

    public KeyIndex(byte[] key) => Key = key;

    public byte[] Key { get; }

    internal IReadOnlyList<Generation> Generations => _generations;

    /// <summary>Only an empty current generation left: the key has no history worth an entry.</summary>
    public bool IsEmpty => _generations.Count == 1 && _generations[0].Revisions.Count == 0;

    /// <summary>The current (non-tombstone) version, or null while the key is deleted.</summary>
    public KeyValue? Current
    {
        get
        {
            List<KeyValue> revisions = _generations[^1].Revisions;
            return revisions.Count == 0 ? null : revisions[^1];
        }
    }

    /// <summary>Version number and create revision a new put would get.</summary>
    public (long Version, long CreateRevision) NextPut(Revision revision)
    {
        Generation current = _generations[^1];
        return current.Revisions.Count == 0 ? (1, revision.Main) : (current.Version + 1, current.Created.Main);
    }

    public void Put(KeyValue record)
    {
        Generation current = _generations[^1];
        if (current.Revisions.Count == 0)
        {
            current.Created = record.Revision;
        }

        current.Revisions.Add(record);
        current.Version++;
    }

    public void Tombstone(KeyValue record)
    {
        if (_generations[^1].Revisions.Count == 0)
        {
            throw new InvalidOperationException("tombstone of a key that does not exist");
        }

        Put(record);
        _generations.Add(new Generation());
    }

    /// <summary>Rebuilds the first record of a key from a snapshot (etcd's keyIndex.restore).</summary>
    public void Restore(KeyValue record)
    {
        Generation current = _generations[^1];
        current.Created = new Revision(record.CreateRevision, 0);
        current.Version = record.Version;
        current.Revisions.Add(record);
    }

    /// <summary>The version live at <paramref name="atRevision"/>, or null (absent or deleted then).</summary>
    public KeyValue? Get(long atRevision)
    {
        Generation? generation = FindGeneration(atRevision);
        if (generation is null)
        {
            return null;
        }

        List<KeyValue> revisions = generation.Revisions;
        for (int i = revisions.Count - 1; i >= 0; i--)
        {
            if (revisions[i].Revision.Main <= atRevision)
            {
                return revisions[i];
            }
        }

        return null;
    }

    private Generation? FindGeneration(long atRevision)
    {
        int last = _generations.Count - 1;
        for (int i = last; i >= 0; i--)
        {
            List<KeyValue> revisions = _generations[i].Revisions;
            if (revisions.Count == 0)
            {
                continue;
            }

            // A finished generation whose tombstone is at or before atRevision: deleted by then.
            if (i != last && revisions[^1].Revision.Main <= atRevision)
            {
                return null;
            }

            if (revisions[0].Revision.Main <= atRevision)
            {
                return _generations[i];
            }
        }

        return null;
    }

    /// <summary>
    /// etcd's keyIndex.compact: drop every revision superseded at <paramref name="atRevision"/>, keep the
    /// one in effect then (unless it is a tombstone), and drop generations that ended by then. Kept
    /// records are added to <paramref name="keep"/>.
    /// </summary>
    public void Compact(long atRevision, HashSet<KeyValue> keep)
    {
        (int generationIndex, int revisionIndex) = FindKept(atRevision, keep);
        Generation generation = _generations[generationIndex];
        if (generation.Revisions.Count > 0)
        {
            if (revisionIndex > 0)
            {
                generation.Revisions.RemoveRange(0, revisionIndex);
            }

            // Only a tombstone left in a finished generation: the key was deleted by atRevision.
            if (generation.Revisions.Count == 1 && generationIndex != _generations.Count - 1)
            {
                keep.Remove(generation.Revisions[0]);
                generationIndex++;
            }
        }

        _generations.RemoveRange(0, generationIndex);
    }

    /// <summary>etcd's keyIndex.keep: what <see cref="Compact"/> would keep, without changing anything.</summary>
    public void Keep(long atRevision, HashSet<KeyValue> keep)
    {
        (int generationIndex, int revisionIndex) = FindKept(atRevision, keep);
        Generation generation = _generations[generationIndex];
        if (generation.Revisions.Count > 0 && revisionIndex >= 0 && generationIndex != _generations.Count - 1 &&
            revisionIndex == generation.Revisions.Count - 1)
        {
            keep.Remove(generation.Revisions[revisionIndex]);
        }
    }

    private (int GenerationIndex, int RevisionIndex) FindKept(long atRevision, HashSet<KeyValue> keep)
    {
        int generationIndex = 0;
        while (generationIndex < _generations.Count - 1 &&
               _generations[generationIndex].Revisions[^1].Revision.Main <= atRevision)
        {
            generationIndex++;
        }

        List<KeyValue> revisions = _generations[generationIndex].Revisions;
        for (int i = revisions.Count - 1; i >= 0; i--)
        {
            if (revisions[i].Revision.Main <= atRevision)
            {
                keep.Add(revisions[i]);
                return (generationIndex, i);
            }
        }

        return (generationIndex, -1);
    }

    internal sealed class Generation
    {
        public long Version { get; set; }
        public Revision Created { get; set; }
        public List<KeyValue> Revisions { get; } = [];
    }
}
