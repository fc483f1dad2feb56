using Trireme.Store.Core.Codec;
using Trireme.Store.Core.Mvcc;

namespace Trireme.Store.Core;

// Snapshots: the whole replicated state as one checksummed byte stream (layout in docs/store.md).
public sealed partial class StoreStateMachine
{
    /// <summary>First bytes of every snapshot.</summary>
    public static ReadOnlySpan<byte> SnapshotMagic => "TRSS"u8;

    /// <summary>Snapshot layout version; persisted, so bump it on any change and keep reading old ones.</summary>
    public const byte SnapshotFormatVersion = 1;

    /// <summary>
    /// Writes keys (all history records kept after compaction), revisions, compact revision, leases
    /// (ID, TTL, checkpointed remaining TTL), alarms and the applied index. Watchers and the leader's
    /// lease clock are member-local and not included.
    /// </summary>
    public void WriteSnapshot(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[] bytes = Snapshot();
        destination.Write(bytes);
    }

    /// <summary>The snapshot as one array (what <see cref="WriteSnapshot"/> writes).</summary>
    public byte[] Snapshot() => CaptureSnapshot().Encode();

    /// <summary>
    /// An immutable view of the replicated state as of now, whose <see cref="StoreSnapshotView.Encode"/>
    /// may run on any thread while this state machine moves on. Capturing copies references only (the
    /// history's records and their key/value arrays are never mutated once stored, and compaction
    /// rebuilds the list rather than the records), so the owner's thread pays an array copy of one
    /// pointer per revision instead of encoding and checksumming the whole store.
    /// </summary>
    public StoreSnapshotView CaptureSnapshot() => new(
        AppliedIndex, _mvcc.CurrentRevision, _mvcc.CompactRevision, _mvcc.History.ToArray(),
        [.. Leases.All().Select(l => (l.Id, l.Ttl, l.RemainingTtl))], [.. _alarms]);

    /// <summary>
    /// Replaces the whole replicated state with a snapshot (a follower catching up, or a restart).
    /// The checksum and every length are verified before anything changes; bad bytes throw
    /// <see cref="StoreDecodeException"/> and leave this instance untouched. Afterwards the lessor is
    /// not primary (a leader calls <see cref="KeyLeases.Promote"/> again) and every watcher re-syncs
    /// from the new history, cancelled with the compact revision if what it needs is gone.
    /// </summary>
    public void RestoreSnapshot(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var buffer = new MemoryStream();
        source.CopyTo(buffer);
        RestoreSnapshot(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    public void RestoreSnapshot(ReadOnlySpan<byte> snapshot)
    {
        Parsed parsed = Parse(snapshot);
        long previousRevision = _mvcc.CurrentRevision;
        _mvcc.Restore(parsed.History, parsed.CurrentRevision, parsed.CompactRevision);
        Leases.Demote();
        Leases.Clear();
        foreach (KeyLease lease in parsed.Leases)
        {
            Leases.Restore(lease);
        }

        // Attachments are not stored: they are exactly the live keys that name a lease.
        foreach (KeyValue record in _mvcc.History)
        {
            if (!record.IsTombstone && record.Lease != 0 && _mvcc.Get(record.Key) == record)
            {
                Leases.Attach(record.Lease, record.Key);
            }
        }

        _alarms.Clear();
        foreach (AlarmMember alarm in parsed.Alarms)
        {
            _alarms.Add(alarm);
        }

        AppliedIndex = parsed.AppliedIndex;
        Watches.OnRestored(previousRevision);
    }

    private static Parsed Parse(ReadOnlySpan<byte> snapshot)
    {
        if (snapshot.Length < SnapshotMagic.Length + 1 + 4 || !snapshot.StartsWith(SnapshotMagic))
        {
            throw new StoreDecodeException(DecodeError.BadMagic, "not a Trireme store snapshot");
        }

        ReadOnlySpan<byte> body = snapshot[..^4];
        uint expected = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(snapshot[^4..]);
        if (Crc32C.Compute(body) != expected)
        {
            throw new StoreDecodeException(DecodeError.ChecksumMismatch, "snapshot checksum does not match its contents");
        }

        var reader = new WireReader(body[SnapshotMagic.Length..]);
        byte version = reader.Byte();
        if (version != SnapshotFormatVersion)
        {
            throw new StoreDecodeException(DecodeError.UnknownVersion, $"snapshot format version {version}");
        }

        var parsed = new Parsed
        {
            AppliedIndex = (long)reader.UVarint(),
            CurrentRevision = reader.Varint(),
            CompactRevision = reader.Varint(),
        };
        int records = reader.Count();
        var keys = new Dictionary<byte[], byte[]>(ByteKeys.Instance);
        var live = new Dictionary<byte[], bool>(ByteKeys.Instance);
        Revision last = default;
        for (int i = 0; i < records; i++)
        {
            var revision = new Revision(reader.Varint(), reader.Varint());
            bool tombstone = reader.Bool();
            byte[] key = reader.Bytes();
            key = keys.TryGetValue(key, out byte[]? shared) ? shared : keys[key] = key;
            if (revision <= last || revision.Main > parsed.CurrentRevision || key.Length == 0 ||
                revision.Sub is < 0 or > int.MaxValue)
            {
                throw new StoreDecodeException(DecodeError.Inconsistent, $"history record {revision} out of order or empty");
            }

            // A delete of a key that is not live could not have been written: refuse before restoring.
            if (tombstone && live.TryGetValue(key, out bool wasLive) && !wasLive)
            {
                throw new StoreDecodeException(DecodeError.Inconsistent, $"tombstone {revision} of a deleted key");
            }

            live[key] = !tombstone;
            last = revision;
            parsed.History.Add(tombstone
                ? KeyValue.TombstoneAt(key, revision)
                : new KeyValue(key, revision, reader.Varint(), reader.Varint(), reader.Bytes(), reader.Varint(), tombstone: false));
        }

        int leases = reader.Count();
        for (int i = 0; i < leases; i++)
        {
            var lease = new KeyLease(reader.Varint(), reader.Varint()) { RemainingTtl = reader.Varint() };
            if (parsed.Leases.Count > 0 && parsed.Leases[^1].Id >= lease.Id)
            {
                throw new StoreDecodeException(DecodeError.Inconsistent, $"lease {lease.Id} out of order or repeated");
            }

            parsed.Leases.Add(lease);
        }

        int alarms = reader.Count();
        for (int i = 0; i < alarms; i++)
        {
            ulong member = reader.UVarint();
            parsed.Alarms.Add(new AlarmMember(member, reader.Enum<AlarmType>((int)AlarmType.Corrupt)));
        }

        reader.End();
        return parsed;
    }

    private sealed class Parsed
    {
        public long AppliedIndex { get; init; }
        public long CurrentRevision { get; init; }
        public long CompactRevision { get; init; }
        public List<KeyValue> History { get; } = [];
        public List<KeyLease> Leases { get; } = [];
        public List<AlarmMember> Alarms { get; } = [];
    }
}
