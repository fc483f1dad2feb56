namespace Trireme.Store.Core.Mvcc;

/// <summary>
/// One record of the revision-ordered history (etcd's "key" bucket: revision → KeyValue). A tombstone
/// records a delete; its <see cref="Kv"/> holds only the key and the deleting revision.
/// </summary>
internal sealed class StoredRevision
{
    public StoredRevision(Revision revision, KeyValue kv, bool tombstone)
    {
        Revision = revision;
        Kv = kv;
        Tombstone = tombstone;
    }

    public Revision Revision { get; }
    public KeyValue Kv { get; }
    public bool Tombstone { get; }
}
