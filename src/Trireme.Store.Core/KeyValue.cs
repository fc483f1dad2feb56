namespace Trireme.Store.Core;

/// <summary>
/// One version of a key, as etcd's mvccpb.KeyValue. Instances are shared between the store, range
/// results and watch events, so nobody may mutate the bytes after construction: the store copies
/// request bytes on the way in and hands out these objects read-only. <see cref="Value"/> may be a
/// slice of the Raft log entry that wrote it (see <see cref="Codec.CommandCodec.Decode(ReadOnlyMemory{byte})"/>):
/// those bytes are immutable too, and sharing them keeps one array per put alive instead of two.
/// The same object is the store's history record (etcd's "key" bucket entry): it also carries its sub
/// revision and whether it is a tombstone, so each revision costs the garbage collector one object.
/// </summary>
public sealed class KeyValue
{
    public KeyValue(byte[] key, long createRevision, long modRevision, long version, ReadOnlyMemory<byte> value, long lease)
    {
        Key = key;
        CreateRevision = createRevision;
        ModRevision = modRevision;
        Version = version;
        Value = value;
        Lease = lease;
    }

    /// <summary>A history record: a version written at <paramref name="revision"/>, or a tombstone
    /// (key and revision only, etcd's shape for a delete).</summary>
    internal KeyValue(byte[] key, Revision revision, long createRevision, long version, ReadOnlyMemory<byte> value, long lease, bool tombstone)
        : this(key, createRevision, revision.Main, version, value, lease)
    {
        SubRevision = revision.Sub <= int.MaxValue && revision.Sub >= 0
            ? (int)revision.Sub
            : throw new ArgumentOutOfRangeException(nameof(revision), $"sub revision {revision.Sub} out of range");
        IsTombstone = tombstone;
    }

    internal static KeyValue TombstoneAt(byte[] key, Revision revision) =>
        new(key, revision, 0, 0, ReadOnlyMemory<byte>.Empty, 0, tombstone: true);

    public byte[] Key { get; }

    /// <summary>Main revision of the put that started this key's current generation.</summary>
    public long CreateRevision { get; }

    /// <summary>Main revision of the write that produced this version.</summary>
    public long ModRevision { get; }

    /// <summary>1 for the first put of a generation; restarts at 1 after a delete.</summary>
    public long Version { get; }

    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The key lease (etcd TTL lease) attached to this version, 0 for none.</summary>
    public long Lease { get; }

    /// <summary>Position of the write inside its transaction (the record's revision is (ModRevision, this)).</summary>
    internal int SubRevision { get; }

    /// <summary>A history record of a delete: only <see cref="Key"/> and <see cref="ModRevision"/> are set.</summary>
    internal bool IsTombstone { get; }

    internal Revision Revision => new(ModRevision, SubRevision);

    /// <summary>The same version without its value (range keys_only).</summary>
    public KeyValue WithoutValue() =>
        Value.Length == 0 ? this : new KeyValue(Key, Revision, CreateRevision, Version, ReadOnlyMemory<byte>.Empty, Lease, IsTombstone);

    public override string ToString() =>
        $"{System.Text.Encoding.UTF8.GetString(Key)}@{ModRevision} (create {CreateRevision}, v{Version}, lease {Lease})";
}

/// <summary>etcd's mvccpb.Event.EventType; the numbers are the protobuf enum values.</summary>
public enum WatchEventType
{
    Put = 0,
    Delete = 1,
}

/// <summary>
/// One change as a watcher sees it. For a delete, <see cref="Kv"/> carries only the key and the
/// deleting revision (etcd's tombstone shape). <see cref="PrevKv"/> is set only for watchers that
/// asked for prev_kv and only when the previous version is still in history.
/// </summary>
public sealed record WatchEvent(WatchEventType Type, KeyValue Kv, KeyValue? PrevKv);
