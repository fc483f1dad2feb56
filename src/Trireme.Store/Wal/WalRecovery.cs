namespace Trireme.Store.Wal;

/// <summary>
/// Reads every segment in order and rebuilds the log. A segment's records end where its data ends: at
/// the end of the file, or where only zeros follow (the preallocated space never written; no record is
/// all zeros, a record's length is never 0). Rules: a bad record whose claimed end reaches the end of
/// the LAST segment's data is a torn write (the process died mid-append, so that record was never
/// acknowledged): the file is truncated there. Any other bad record — in an older segment, or followed
/// by more data — is corruption of acknowledged data, and recovery refuses with the file and byte offset.
/// </summary>
internal static class WalRecovery
{
    public static readonly byte[] SegmentMagic = "TRIWAL01"u8.ToArray();

    internal sealed record SegmentInfo(string Path, long Sequence)
    {
        public ulong MaxEntryIndex { get; set; }

        /// <summary>Byte offset just past the last whole record (where the next append goes).</summary>
        public long DataEnd { get; set; }
    }

    public static string SegmentPath(string directory, long sequence) =>
        Path.Combine(directory, $"{sequence:D16}.wal");

    public static List<SegmentInfo> ListSegments(string directory)
    {
        var segments = new List<SegmentInfo>();
        foreach (var path in Directory.EnumerateFiles(directory, "*.wal"))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), out var sequence))
            {
                segments.Add(new SegmentInfo(path, sequence));
            }
        }

        segments.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return segments;
    }

    public static (WalRecoveredState State, List<SegmentInfo> Segments) Recover(string directory)
    {
        var segments = ListSegments(directory);
        var notes = new List<string>();
        var hardState = default(WalHardState);
        var marker = default(WalSnapshotMarker);
        var log = new List<WalEntry>();
        var decoded = new List<WalEntry>();
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            var isLast = i == segments.Count - 1;
            var bytes = File.ReadAllBytes(segment.Path);
            var dataEnd = bytes.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
            var offset = ReadMagic(segment.Path, bytes, dataEnd, isLast, notes);
            segment.DataEnd = SegmentMagic.Length;
            while (offset >= 0 && offset < dataEnd)
            {
                // Decoded against the whole file: a record's own last bytes may be zeros.
                var status = WalRecord.TryDecode(bytes.AsSpan(offset), out var type, out var payload, out var size);
                if (status != WalDecodeStatus.Ok)
                {
                    var reachesEnd = status == WalDecodeStatus.Truncated || offset + size >= dataEnd;
                    if (isLast && reachesEnd && status != WalDecodeStatus.BadType)
                    {
                        Truncate(segment.Path, offset);
                        notes.Add($"torn tail ({status}) truncated: {segment.Path} at byte offset {offset}");
                        break;
                    }

                    throw new WalCorruptException(segment.Path, offset, Describe(status));
                }

                switch (type)
                {
                    case WalRecordType.HardState when WalRecord.TryDecodeHardState(payload, out var hs):
                        hardState = hs;
                        break;
                    case WalRecordType.SnapshotMarker when WalRecord.TryDecodeMarker(payload, out var m):
                        marker = m;
                        break;
                    case WalRecordType.Entries when WalRecord.TryDecodeEntries(payload, decoded):
                        foreach (var entry in decoded)
                        {
                            AppendWithOverwrite(log, entry);
                            segment.MaxEntryIndex = Math.Max(segment.MaxEntryIndex, entry.Index);
                        }

                        decoded.Clear();
                        break;
                    default:
                        throw new WalCorruptException(segment.Path, offset, $"{type} record payload is malformed");
                }

                offset += (int)size;
                segment.DataEnd = offset;
            }
        }

        log.RemoveAll(e => e.Index <= marker.Index);
        return (new WalRecoveredState(hardState, marker, log, notes), segments);
    }

    /// <summary>Returns the offset of the first record, or -1 when the last segment was torn before its
    /// magic was complete (it is then rewritten empty).</summary>
    private static int ReadMagic(string path, byte[] bytes, int dataEnd, bool isLast, List<string> notes)
    {
        if (dataEnd < SegmentMagic.Length && isLast && bytes.AsSpan(0, dataEnd).SequenceEqual(
                SegmentMagic.AsSpan(0, dataEnd)))
        {
            File.WriteAllBytes(path, SegmentMagic);
            notes.Add($"torn segment header rewritten: {path}");
            return -1;
        }

        if (bytes.Length < SegmentMagic.Length || !bytes.AsSpan(0, SegmentMagic.Length).SequenceEqual(SegmentMagic))
        {
            throw new WalCorruptException(path, 0, "segment does not start with the TRIWAL01 magic");
        }

        return SegmentMagic.Length;
    }

    /// <summary>Raft may rewrite a suffix: an entry at or below the current end replaces everything from
    /// its index on. A jump forward only happens after a snapshot was installed, which obsoletes the rest.</summary>
    private static void AppendWithOverwrite(List<WalEntry> log, WalEntry entry)
    {
        if (log.Count > 0)
        {
            var first = log[0].Index;
            if (entry.Index < first || entry.Index > log[^1].Index + 1)
            {
                log.Clear();
            }
            else if (entry.Index <= log[^1].Index)
            {
                log.RemoveRange((int)(entry.Index - first), log.Count - (int)(entry.Index - first));
            }
        }

        log.Add(entry);
    }

    private static void Truncate(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(offset);
        DurableFiles.SyncFile(file);
    }

    private static string Describe(WalDecodeStatus status) => status switch
    {
        WalDecodeStatus.BadCrc => "record CRC-32C mismatch",
        WalDecodeStatus.BadLength => "record length is larger than any record the WAL writes",
        WalDecodeStatus.BadType => "unknown record type",
        WalDecodeStatus.Truncated => "record is cut short in a segment that is not the last one",
        _ => status.ToString(),
    };
}
