using System.Buffers.Binary;

namespace Trireme.Store.Wal;

/// <summary>Outcome of decoding one record from a byte buffer.</summary>
public enum WalDecodeStatus : byte
{
    Ok,
    /// <summary>The buffer ends inside the header or payload (a torn tail if at the end of the log).</summary>
    Truncated,
    BadCrc,
    BadLength,
    BadType,
}

/// <summary>
/// Record framing: <c>[u32 LE payload length][u8 type][u32 LE CRC-32C][payload]</c>. The CRC covers the
/// length, the type and the payload, so a flipped bit anywhere in a record is detected.
/// </summary>
public static class WalRecord
{
    public const int HeaderBytes = 9;

    /// <summary>Largest payload written or accepted: bigger batches are split before encoding.
    /// A larger length on disk is corruption, not a reason to allocate.</summary>
    public const int MaxPayloadBytes = 16 * 1024 * 1024;

    /// <summary>Entry batches are split at this size so one record never approaches the limit above.</summary>
    public const int TargetEntryBatchBytes = 4 * 1024 * 1024;

    public static int EncodedSize(int payloadBytes) => HeaderBytes + payloadBytes;

    /// <summary>Writes header + payload into <paramref name="destination"/>; returns bytes written.</summary>
    public static int Encode(WalRecordType type, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (payload.Length > MaxPayloadBytes)
        {
            throw new ArgumentException($"WAL record payload {payload.Length} exceeds {MaxPayloadBytes}");
        }

        payload.CopyTo(destination[HeaderBytes..]);
        return Seal(type, destination, payload.Length);
    }

    /// <summary>Writes the header of a record whose payload (<paramref name="payloadLength"/> bytes) is
    /// already in place after it in <paramref name="record"/>; returns the record's full size.</summary>
    public static int Seal(WalRecordType type, Span<byte> record, int payloadLength)
    {
        if (payloadLength > MaxPayloadBytes)
        {
            throw new ArgumentException($"WAL record payload {payloadLength} exceeds {MaxPayloadBytes}");
        }

        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payloadLength);
        record[4] = (byte)type;
        var crc = Crc32C.Append(Crc32C.Compute(record[..5]), record.Slice(HeaderBytes, payloadLength));
        BinaryPrimitives.WriteUInt32LittleEndian(record[5..], crc);
        return HeaderBytes + payloadLength;
    }

    /// <summary>
    /// Decodes the record at the start of <paramref name="buffer"/>. Never throws on any input.
    /// <paramref name="consumed"/> is the record's full size when Ok, and the size the header claims
    /// (or 0 when even the header is incomplete) otherwise.
    /// </summary>
    public static WalDecodeStatus TryDecode(
        ReadOnlySpan<byte> buffer, out WalRecordType type, out ReadOnlySpan<byte> payload, out long consumed)
    {
        type = 0;
        payload = default;
        consumed = 0;
        if (buffer.Length < HeaderBytes)
        {
            return WalDecodeStatus.Truncated;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        consumed = HeaderBytes + (long)length;
        if (length > MaxPayloadBytes)
        {
            return WalDecodeStatus.BadLength;
        }

        if (buffer.Length < consumed)
        {
            return WalDecodeStatus.Truncated;
        }

        var body = buffer.Slice(HeaderBytes, (int)length);
        var crc = Crc32C.Append(Crc32C.Compute(buffer[..5]), body);
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(buffer[5..]))
        {
            return WalDecodeStatus.BadCrc;
        }

        type = (WalRecordType)buffer[4];
        if (type is not (WalRecordType.HardState or WalRecordType.Entries or WalRecordType.SnapshotMarker))
        {
            return WalDecodeStatus.BadType;
        }

        payload = body;
        return WalDecodeStatus.Ok;
    }

    /// <summary>Size of a HardState payload (term, vote, commit).</summary>
    public const int HardStateBytes = 24;

    public static byte[] EncodeHardState(WalHardState state)
    {
        var payload = new byte[HardStateBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, state.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8), state.Vote);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(16), state.Commit);
        return payload;
    }

    public static bool TryDecodeHardState(ReadOnlySpan<byte> payload, out WalHardState state)
    {
        state = default;
        if (payload.Length != 24)
        {
            return false;
        }

        state = new WalHardState(
            BinaryPrimitives.ReadUInt64LittleEndian(payload),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]));
        return true;
    }

    public static byte[] EncodeMarker(WalSnapshotMarker marker)
    {
        var payload = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, marker.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8), marker.Term);
        return payload;
    }

    public static bool TryDecodeMarker(ReadOnlySpan<byte> payload, out WalSnapshotMarker marker)
    {
        marker = default;
        if (payload.Length != 16)
        {
            return false;
        }

        marker = new WalSnapshotMarker(
            BinaryPrimitives.ReadUInt64LittleEndian(payload), BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]));
        return true;
    }

    private const int EntryHeaderBytes = 8 + 8 + 1 + 4;

    /// <summary>Entry batch payload: <c>[u32 count] { [u64 term][u64 index][u8 type][u32 len][data] }*</c>.</summary>
    public static byte[] EncodeEntries(IReadOnlyList<WalEntry> entries, int start, int count)
    {
        var payload = new byte[EntriesPayloadSize(entries, start, count)];
        WriteEntriesPayload(entries, start, count, payload);
        return payload;
    }

    private static int EntriesPayloadSize(IReadOnlyList<WalEntry> entries, int start, int count)
    {
        var size = 4;
        for (var i = start; i < start + count; i++)
        {
            size += EntryHeaderBytes + entries[i].Data.Length;
        }

        return size;
    }

    private static void WriteEntriesPayload(IReadOnlyList<WalEntry> entries, int start, int count, Span<byte> span)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)count);
        var at = 4;
        for (var i = start; i < start + count; i++)
        {
            var e = entries[i];
            BinaryPrimitives.WriteUInt64LittleEndian(span[at..], e.Term);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 8)..], e.Index);
            span[at + 16] = e.Type;
            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 17)..], (uint)e.Data.Length);
            e.Data.Span.CopyTo(span[(at + EntryHeaderBytes)..]);
            at += EntryHeaderBytes + e.Data.Length;
        }
    }

    /// <summary>How many entries from <paramref name="start"/> go into one record of about
    /// <see cref="TargetEntryBatchBytes"/> (at least one).</summary>
    private static int NextBatchCount(IReadOnlyList<WalEntry> entries, int start)
    {
        var count = 0;
        long bytes = 4;
        while (start + count < entries.Count)
        {
            var next = EntryHeaderBytes + entries[start + count].Data.Length;
            if (count > 0 && bytes + next > TargetEntryBatchBytes)
            {
                break;
            }

            bytes += next;
            count++;
        }

        return count;
    }

    /// <summary>Bytes that <see cref="WriteEntryRecords"/> writes for <paramref name="entries"/>.</summary>
    public static int EntryRecordsSize(IReadOnlyList<WalEntry> entries)
    {
        var size = 0;
        for (var start = 0; start < entries.Count;)
        {
            var count = NextBatchCount(entries, start);
            size += HeaderBytes + EntriesPayloadSize(entries, start, count);
            start += count;
        }

        return size;
    }

    /// <summary>Writes <paramref name="entries"/> as Entries records of about <see cref="TargetEntryBatchBytes"/>
    /// each, encoded in place (no payload buffer of their own); returns the bytes written.</summary>
    public static int WriteEntryRecords(IReadOnlyList<WalEntry> entries, Span<byte> destination)
    {
        var at = 0;
        for (var start = 0; start < entries.Count;)
        {
            var count = NextBatchCount(entries, start);
            var payloadLength = EntriesPayloadSize(entries, start, count);
            WriteEntriesPayload(entries, start, count, destination.Slice(at + HeaderBytes, payloadLength));
            at += Seal(WalRecordType.Entries, destination[at..], payloadLength);
            start += count;
        }

        return at;
    }

    /// <summary>Decodes an entry batch; false on any inconsistency (never throws).</summary>
    public static bool TryDecodeEntries(ReadOnlySpan<byte> payload, List<WalEntry> into)
    {
        if (payload.Length < 4)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        var at = 4;
        for (var i = 0u; i < count; i++)
        {
            if (payload.Length - at < EntryHeaderBytes)
            {
                return false;
            }

            var term = BinaryPrimitives.ReadUInt64LittleEndian(payload[at..]);
            var index = BinaryPrimitives.ReadUInt64LittleEndian(payload[(at + 8)..]);
            var type = payload[at + 16];
            var length = BinaryPrimitives.ReadUInt32LittleEndian(payload[(at + 17)..]);
            at += EntryHeaderBytes;
            if (length > (uint)(payload.Length - at))
            {
                return false;
            }

            into.Add(new WalEntry(term, index, type, payload.Slice(at, (int)length).ToArray()));
            at += (int)length;
        }

        return at == payload.Length;
    }
}
