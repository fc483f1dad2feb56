using Trireme.Store.Core.Codec;
using Trireme.Store.Core.Mvcc;

namespace Trireme.Store.Core;

/// <summary>
/// The replicated state captured at one applied index by <see cref="StoreStateMachine.CaptureSnapshot"/>:
/// plain copies and shared immutable records, so <see cref="Encode"/> is safe on any thread while the
/// state machine keeps applying. The encoding is the snapshot format of docs/store.md.
/// </summary>
public sealed class StoreSnapshotView
{
    private readonly long _appliedIndex;
    private readonly long _currentRevision;
    private readonly long _compactRevision;
    private readonly KeyValue[] _history;
    private readonly (long Id, long Ttl, long RemainingTtl)[] _leases;
    private readonly AlarmMember[] _alarms;

    internal StoreSnapshotView(long appliedIndex, long currentRevision, long compactRevision, KeyValue[] history,
        (long Id, long Ttl, long RemainingTtl)[] leases, AlarmMember[] alarms)
    {
        _appliedIndex = appliedIndex;
        _currentRevision = currentRevision;
        _compactRevision = compactRevision;
        _history = history;
        _leases = leases;
        _alarms = alarms;
    }

    /// <summary>The applied index the view was taken at.</summary>
    public long AppliedIndex => _appliedIndex;

    /// <summary>Writes keys (all history records kept after compaction), revisions, compact revision,
    /// leases (ID, TTL, checkpointed remaining TTL), alarms and the applied index, with a CRC-32C.
    /// The result has exactly <paramref name="reservedPrefixBytes"/> zero bytes, for the caller to fill,
    /// before the encoding. It is sized by a counting pass first and then written once: a snapshot of a
    /// large history is tens of MB, and growing a buffer and copying it out cost three such arrays.</summary>
    public byte[] Encode(int reservedPrefixBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reservedPrefixBytes);
        var counter = WireWriter.Counting();
        WriteBody(counter);
        var writer = new WireWriter(reservedPrefixBytes + counter.Length + 4);
        writer.Skip(reservedPrefixBytes);
        WriteBody(writer);
        writer.UInt32(Crc32C.Compute(writer.Written[reservedPrefixBytes..]));
        return writer.ToArray();
    }

    private void WriteBody(WireWriter writer)
    {
        writer.Raw(StoreStateMachine.SnapshotMagic);
        writer.Byte(StoreStateMachine.SnapshotFormatVersion);
        writer.UVarint((ulong)_appliedIndex);
        writer.Varint(_currentRevision);
        writer.Varint(_compactRevision);
        writer.UVarint((ulong)_history.Length);
        foreach (KeyValue record in _history)
        {
            writer.Varint(record.Revision.Main);
            writer.Varint(record.Revision.Sub);
            writer.Bool(record.IsTombstone);
            writer.Bytes(record.Key);
            if (!record.IsTombstone)
            {
                writer.Varint(record.CreateRevision);
                writer.Varint(record.Version);
                writer.Bytes(record.Value.Span);
                writer.Varint(record.Lease);
            }
        }

        writer.UVarint((ulong)_leases.Length);
        foreach (var (id, ttl, remaining) in _leases)
        {
            writer.Varint(id);
            writer.Varint(ttl);
            writer.Varint(remaining);
        }

        writer.UVarint((ulong)_alarms.Length);
        foreach (AlarmMember alarm in _alarms)
        {
            writer.UVarint(alarm.MemberId);
            writer.Byte((byte)alarm.Alarm);
        }

    }
}
